"""Names the device the active Keras backend computes on; runs in the sandbox and in benchmarks."""

import os
import platform


def describe_device() -> str:
    """"GPU: <name>" when the Keras backend sees an accelerator, else "CPU: <model>, <n> cores" ("1 core")."""
    import keras  # late: reading this name must not cost a framework import elsewhere

    backend = keras.backend.backend()
    gpu = None
    if backend == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform != "cpu"]
        gpu = devices[0].device_kind if devices else None
    elif backend == "torch":
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    elif backend == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_physical_devices("GPU")
        gpu = tf.config.experimental.get_device_details(devices[0]).get("device_name", "GPU") if devices else None
    cores = len(os.sched_getaffinity(0))
    return f"GPU: {gpu}" if gpu else f"CPU: {_cpu_model()}, {cores} core{'' if cores == 1 else 's'}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def share_the_gpu() -> None:
    """Caps PyTorch at the run's share of its GPU (GRADER_GPU_MEMORY_FRACTION, set by the sandbox's
    envelope), which no environment variable can; JAX and TensorFlow read theirs at start."""
    fraction = os.environ.get("GRADER_GPU_MEMORY_FRACTION")
    if not fraction or os.environ.get("KERAS_BACKEND") != "torch":
        return
    import torch

    if torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(float(fraction))
