"""What a sandbox computes on: its CPU cores and GPU share, as device nodes and framework settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
"""Nodes every CUDA process needs besides its GPU's own /dev/nvidiaN."""
_GPU_NODE = re.compile(r"nvidia(\d+)")


@dataclass(frozen=True)
class Gpu:
    """One NVIDIA GPU of the host."""

    minor: int
    """N in /dev/nvidiaN."""
    uuid: str | None
    """GPU-..., from /proc/driver/nvidia: what CUDA_VISIBLE_DEVICES names it by, whatever the order."""


def gpus(dev: Path = Path("/dev"), driver: Path = Path("/proc/driver/nvidia/gpus")) -> list[Gpu]:
    """The host's NVIDIA GPUs by their device nodes (none on a machine without the driver)."""
    uuids = {}
    for information in sorted(driver.glob("*/information")) if driver.is_dir() else []:
        fields = dict(line.split(":", 1) for line in information.read_text(errors="replace").splitlines() if ":" in line)
        minor = fields.get("Device Minor", "").strip()
        if minor.isdigit():
            uuids[int(minor)] = fields.get("GPU UUID", "").strip() or None
    minors = sorted(int(m[1]) for p in dev.glob("nvidia*") if (m := _GPU_NODE.fullmatch(p.name)))
    return [Gpu(minor, uuids.get(minor)) for minor in minors]


def gpu_nodes(gpu: Gpu, dev: Path = Path("/dev")) -> list[str]:
    """The device nodes a sandbox on `gpu` gets: its own node and the control nodes, no other GPU's."""
    nodes = [dev / f"nvidia{gpu.minor}", *(dev / name for name in CONTROL_NODES)]
    caps = dev / "nvidia-caps"  # MIG capabilities, where the host has them
    nodes += sorted(caps.iterdir()) if caps.is_dir() else []
    return [str(node) for node in nodes if node.exists()]


def framework_env(cores: int, gpu: Gpu | None, gpu_share: float) -> dict[str, str]:
    """Settings that size every framework's thread pools to the run's cores, and let several
    sandboxes share one GPU instead of the first one taking all its memory."""
    threads = str(cores)
    env = {
        # OpenMP, OpenBLAS, MKL and numexpr pools (NumPy's BLAS, PyTorch's intra-op pool).
        "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        # TensorFlow's two pools; XLA (JAX's CPU client, TensorFlow's XLA) sizes its own from the
        # CPU affinity, which the cpuset restricts to the same cores.
        "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads,
    }
    if gpu is None:
        # No device, and no search for one: CUDA libraries on a GPU host would otherwise find none
        # and say so at length, or find a card the run was not given.
        return env | {"CUDA_VISIBLE_DEVICES": ""}
    share = f"{gpu_share:.3f}".rstrip("0").rstrip(".")
    return env | {
        "CUDA_VISIBLE_DEVICES": gpu.uuid or str(gpu.minor), "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        # JAX: allocate on demand, and never more than the share.
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "XLA_PYTHON_CLIENT_MEM_FRACTION": share,
        # TensorFlow: grow on demand instead of mapping the whole card at start.
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        # PyTorch has no variable for this: the probe's driver calls
        # torch.cuda.set_per_process_memory_fraction with it.
        "GRADER_GPU_MEMORY_FRACTION": share,
    }
