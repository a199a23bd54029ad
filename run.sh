#!/usr/bin/env bash
# The README's run command: the replay server on the synthetic MNQH6 day plus the built page.
#   backend (WebSocket, /health)  http://127.0.0.1:8002
#   page (frontend/dist)          http://localhost:5174   (same Python process, second port)
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh

SYMBOL=MNQH6 DT=2026-02-06 START=09:00

# The synthetic day (written into backend/lake once; a real downloaded file is used if present).
(cd backend && uv run vp synth --symbol "$SYMBOL" --dt "$DT")

# Build the page when dist is missing or older than any frontend source.
if [ ! -f frontend/dist/vacuum-pressure.html ] || \
   [ -n "$(find frontend/src frontend/vacuum-pressure.html -newer frontend/dist/vacuum-pressure.html -print -quit)" ]; then
  (cd frontend && npm run build)
fi

for port in 8002 5174; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "run.sh: port $port is in use (another ./run.sh or backend running?); stop it first" >&2
    exit 1
  fi
done

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait || true; }
trap cleanup EXIT INT TERM

(cd backend && exec uv run scripts/run_vacuum_pressure.py \
  --product-type future_mbo --symbol "$SYMBOL" --dt "$DT" --start-time "$START" \
  --port 8002 --static-port 5174) &
pids+=($!)

# Say where to go once the page's port listens; if the server could not start (a port in use,
# missing data) it has said why in one line: exit with its status.
until (exec 3<>/dev/tcp/127.0.0.1/5174) 2>/dev/null; do
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    status=0; wait "${pids[0]}" || status=$?
    exit "$status"
  fi
  sleep 0.2
done
echo "Open: http://localhost:5174/vacuum-pressure.html?product_type=future_mbo&symbol=$SYMBOL&dt=$DT&start_time=$START"
wait "${pids[0]}"
