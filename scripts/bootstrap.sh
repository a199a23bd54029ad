# Sourced by run.sh and test.sh: make sure uv and the project's packages are installed.
if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv with pip" >&2
  python3 -m pip install --quiet uv
fi
(cd backend && uv sync --frozen --quiet)
if [ -f frontend/package-lock.json ] && [ ! -d frontend/node_modules ]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
fi
