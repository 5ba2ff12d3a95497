#!/usr/bin/env bash
# The GPU check, on a GPU machine with no network and no TensorFlow, Keras or bubblewrap: installs
# what is missing from the wheels `make gpu-wheels` put in var/wheels, prepares the MNIST sample,
# then measures with KERAS_BACKEND=jax on the GPU and the CPU (python -m benchmarks.gpu; its
# options pass through, e.g. --class-size 40 --skip shared). Results: $OUT (the device tool's
# folder) or benchmarks/results, as gpu.json and gpu.md, with this run's log beside them.
#   GPU_CHECK_PYTHON  the machine's Python with JAX (default python3)
#   GPU_CHECK_WHEELS  the carried folder (default var/wheels)
#   GPU_CHECK_VENV    the venv it makes (default var/gpu-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
HOST_PYTHON=${GPU_CHECK_PYTHON:-python3}
WHEELS=${GPU_CHECK_WHEELS:-var/wheels}
RESULTS=${OUT:-benchmarks/results}
VENV=${GPU_CHECK_VENV:-var/gpu-venv}
TOOLS=$PWD/var/gpu-tools
say() { printf '[gpu_check %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

main() {
# bubblewrap: the sandbox's namespaces. Without it the grader falls back to its rlimits mode and
# every report says the isolation is weak; gpu.md says which mode graded.
if ! command -v bwrap >/dev/null; then
  if deb=$(ls "$WHEELS"/bubblewrap_*.deb 2>/dev/null | head -1) && [ -n "$deb" ]; then
    dpkg-deb -x "$deb" "$TOOLS"
    export PATH="$TOOLS/usr/bin:$PATH"
    say "bwrap unpacked from $deb"
  else
    say "no bwrap here and no bubblewrap .deb in $WHEELS: the sandbox runs in rlimits mode"
  fi
fi
# (grep reads all of ldconfig's list: with pipefail, grep -q's early exit fails the pipeline.)
# libseccomp: pyseccomp finds it by name (ctypes.util.find_library, which also reads
# LD_LIBRARY_PATH and LIBRARY_PATH); without it the sandbox runs with no system-call filter and says so.
if ! ldconfig -p 2>/dev/null | grep 'libseccomp\.so\.2' >/dev/null; then
  if deb=$(ls "$WHEELS"/libseccomp2_*.deb 2>/dev/null | head -1) && [ -n "$deb" ]; then
    dpkg-deb -x "$deb" "$TOOLS"
    lib=$(dirname "$(find "$TOOLS" -name 'libseccomp.so.2*' | head -1)")
    ln -sf "$(ls "$lib"/libseccomp.so.2* | head -1)" "$lib/libseccomp.so"
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" LIBRARY_PATH="$lib"
    say "libseccomp unpacked from $deb"
  fi
fi
# The sandbox's environment is clean (no LD_LIBRARY_PATH): CUDA's driver library must be in the
# loader's cache, which the sandbox sees. Where the image finds it through LD_LIBRARY_PATH only,
# add that folder to the cache (root on a throwaway machine; elsewhere say what is missing).
if ! ldconfig -p 2>/dev/null | grep 'libcuda\.so\.1' >/dev/null; then
  for dir in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }} /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    if [ -e "$dir/libcuda.so.1" ]; then
      if [ "$(id -u)" = 0 ] && [ -d /etc/ld.so.conf.d ]; then
        echo "$dir" > /etc/ld.so.conf.d/zz-gpu-check.conf && ldconfig
        say "libcuda.so.1 added to the loader's cache from $dir"
      else
        say "warning: libcuda.so.1 is in $dir but not in the loader's cache: sandboxes will not see the GPU"
      fi
      break
    fi
  done
fi

# A venv that sees the machine's JAX, PyTorch and NumPy. Made from a Python that is itself a venv
# (the image's /opt/torch/.venv), --system-site-packages shows only the base installation's
# packages, so a .pth adds the host venv's site-packages (grader/sandbox/launch.py binds them).
if [ ! -x "$VENV/bin/python" ] && ! "$HOST_PYTHON" -m venv --system-site-packages "$VENV"; then
  # A base Python without ensurepip (Debian's without python3-venv): the venv runs the pip that
  # the machine has, which it sees through the system site-packages or the .pth below.
  rm -rf "$VENV"
  "$HOST_PYTHON" -m venv --system-site-packages --without-pip "$VENV"
  say "made $VENV without pip of its own"
fi
"$HOST_PYTHON" - "$VENV" <<'PY'
import os, pathlib, sys, sysconfig
if sys.prefix != sys.base_prefix:
    # Real paths: the sandbox shows a folder at its real path only.
    paths = dict.fromkeys(os.path.realpath(sysconfig.get_paths()[key]) for key in ("purelib", "platlib"))
    site = next(pathlib.Path(sys.argv[1]).glob("lib/python3*/site-packages"))
    (site / "_gpu_check_host.pth").write_text("".join(f"{path}\n" for path in paths))
PY
PY="$(cd "$VENV" && pwd)/bin/python"
say "installing from $WHEELS into $VENV"
"$PY" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$WHEELS" \
  -r scripts/gpu_requirements.txt
# Before the first `import keras`: there is no TensorFlow there, Keras's default backend.
export KERAS_BACKEND=jax GRADER_KERAS_DOWNLOAD=0 TF_CPP_MIN_LOG_LEVEL=2
"$PY" -c 'import jax, keras; print("jax", jax.__version__, jax.devices(), "| keras", keras.__version__, keras.backend.backend())'
"$PY" -m grader.data prepare
say "measuring"
"$PY" -m benchmarks.gpu --out "$RESULTS" "$@"
say "done: $RESULTS/gpu.md"
}

mkdir -p "$RESULTS"
# The log beside the results, whole, whatever the caller keeps of the output.
main "$@" 2>&1 | tee "$RESULTS/gpu_check.log"
exit "${PIPESTATUS[0]}"
