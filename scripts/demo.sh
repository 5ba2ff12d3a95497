#!/usr/bin/env bash
# `make demo`: the example class queued in a gradebook of its own, the site on localhost at once, and
# the worker grading the class while the scoreboard fills; Ctrl-C stops both.
# Usage: scripts/demo.sh [python]
#   DEMO_PORT     the site's port (default 8501)
#   DEMO_DIR      the demo's gradebook, course file, class and tokens (default var/demo; never var/grades.db)
#   DEMO_WORKERS  submissions graded at once (default 2; 0 queues the class and starts no worker)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=${1:-.venv/bin/python}
port=${DEMO_PORT:-8501}
workers=${DEMO_WORKERS:-2}
mkdir -p "${DEMO_DIR:-var/demo}"
demo=$(cd "${DEMO_DIR:-var/demo}" && pwd)

# The worker, the site and every command below use the demo's gradebook and course file, whatever
# the instructor's environment says.
export GRADER_DB_URL="sqlite:///$demo/grades.db"
export GRADER_COURSE="$demo/course.toml"
guide=$("$py" scripts/demo_class.py --dir "$demo")
# A new password on every run, given to this site alone: the demo never sets a default one.
password=$("$py" -c 'import secrets; print(secrets.token_urlsafe(12))')
(umask 077 && echo "$password" >"$demo/instructor-password")

pids=()
stop() {
  trap - INT TERM EXIT
  # The worker hands the submissions it is grading back to the queue on SIGTERM.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# --secrets.files names a file that does not exist, so an instructor_password in a secrets.toml
# (which the site prefers) cannot replace the demo's.
GRADER_INSTRUCTOR_PASSWORD=$password "$py" -m streamlit run app.py --server.address 127.0.0.1 \
  --server.port "$port" --server.headless true --browser.gatherUsageStats false \
  --secrets.files "$demo/no-secrets.toml" &
site=$!
pids+=("$site")
if [ "$workers" -gt 0 ]; then
  "$py" -m grader worker --workers "$workers" &
  pids+=($!)
fi

url="http://127.0.0.1:$port"
until curl -sf -o /dev/null "$url/_stcore/health"; do
  kill -0 "$site" 2>/dev/null || exit 1   # the site did not start; its own error is above
  sleep 0.2
done
cat <<EOF

================================================================================
The demo site is at $url ($SECONDS s after the start).
$guide
  Instructor page password (this run only): $password   (also in $demo/instructor-password)
Ctrl-C stops the worker and the site. Gradebook: $demo/grades.db.
================================================================================

EOF
# Should either end by itself, the EXIT trap stops the other.
wait -n "${pids[@]}"
