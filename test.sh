#!/usr/bin/env bash
# Runs every test: lint and type checks, backend tests, frontend checks and tests.
# Works on a fresh machine: installs uv (via pip) and the project's packages when missing.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh

echo "== backend: ruff, mypy, pytest"
(cd backend && uv run ruff check . && uv run ruff format --check . && uv run mypy)
(cd backend && uv run pytest -q "$@")

echo "== frontend: tsc, eslint, vitest (browser tests run in /usr/bin/chromium against a real backend; they skip with a reason without chromium or uv)"
(cd frontend && npx tsc --noEmit && npx eslint . && npx vitest run)
