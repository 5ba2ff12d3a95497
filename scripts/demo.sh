#!/usr/bin/env bash
# The end of `make demo`: the queue worker and the site on localhost, until Ctrl-C stops both.
# Usage: scripts/demo.sh [python]   (DEMO_PORT picks the site's port, default 8501)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=${1:-.venv/bin/python}
port=${DEMO_PORT:-8501}

pids=()
stop() {
  trap - INT TERM EXIT
  # The worker hands the submissions it is grading back to the queue on SIGTERM.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$py" -m grader worker &
pids+=($!)
"$py" -m streamlit run app.py --server.address 127.0.0.1 --server.port "$port" --server.headless true \
  --browser.gatherUsageStats false &
pids+=($!)
echo "The site is at http://127.0.0.1:$port (uploads are graded by the worker; Ctrl-C stops both)."
# Should either end by itself, the EXIT trap stops the other.
wait -n "${pids[@]}"
