#!/usr/bin/env bash
# Downloads here what scripts/gpu_check.sh installs on a GPU machine with no network: the py3.12
# wheels of scripts/gpu_requirements.txt (and their dependencies, NumPy left out) and Debian's
# bubblewrap and libseccomp2 packages, into one folder small enough to travel with the tree.
# Usage: scripts/gpu_wheels.sh PYTHON [DIR]   (DIR: var/wheels)
set -euo pipefail
PY=${1:?usage: scripts/gpu_wheels.sh PYTHON [DIR]}
cd "$(dirname "$0")/.."
DIR=${2:-var/wheels}
MAX_MIB=60  # the device tool carries at most 64 MiB of ignored paths, the MNIST sample included

# Only what an earlier run downloaded goes: one version of each package, whatever DIR is.
mkdir -p "$DIR" && rm -f "$DIR"/*.whl "$DIR"/*.deb
# pip matches manylinux tags exactly: name every one the wheels of these pins are built for.
platforms=()
for tag in manylinux1 manylinux2014 manylinux_2_17 manylinux_2_27 manylinux_2_28; do
  platforms+=(--platform "${tag}_x86_64")
done
"$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" -d "$DIR" -r scripts/gpu_requirements.txt
# The GPU machine's own NumPy stays: its JAX and PyTorch were built against it.
rm -f "$DIR"/numpy-*.whl

# bwrap and libseccomp, unpacked there with dpkg-deb -x where the machine lacks them (no install).
if ! (cd "$DIR" && apt-get download bubblewrap libseccomp2 2>/dev/null); then
  apt-get update -qq
  (cd "$DIR" && apt-get download bubblewrap libseccomp2)
fi

size=$(du -sm "$DIR" | cut -f1)
if [ "$size" -gt "$MAX_MIB" ]; then
  echo "error: $DIR holds ${size} MiB, expected at most ${MAX_MIB} MiB (the device tool carries 64 MiB)." >&2
  exit 1
fi
echo "$DIR: $(ls "$DIR" | wc -l) files, ${size} MiB"
