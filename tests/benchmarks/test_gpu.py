"""The GPU check's pieces, on a machine without a GPU: the carried wheel list, the CPU pass, the dry run, the memory sampler."""

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks import gpu
from grader.assignment import load_assignment
from grader.config import REPO_ROOT, Config
from grader.grading import phase_envelope
from grader.phases import GPU_SHARE
from grader.sandbox import Envelope, bubblewrap_available, run_sandboxed

GPU_REQUIREMENTS = REPO_ROOT / "scripts" / "gpu_requirements.txt"
ON_THE_GPU_MACHINE = {"numpy", "jax", "torch"}
"""What the GPU machine has and the check must not replace: its JAX and PyTorch were built against its NumPy."""
NOT_NEEDED_THERE = {"tensorflow": "the check grades with KERAS_BACKEND=jax",
                    "psycopg": "the check's gradebook is SQLite",
                    "ray": "the cluster executor (grader/cluster): the check grades on one machine, and Ray's "
                           "wheel alone is larger than what a device call carries"}
MODULE_OF = {"sqlalchemy": "sqlalchemy", "pyseccomp": "pyseccomp", "alembic": "alembic", "matplotlib": "matplotlib",
             "keras": "keras", "h5py": "h5py", "tzdata": "tzdata"}


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line.split("#")[0].strip()):
            found[match[1].lower()] = match[2]
    return found


def test_the_carried_wheels_have_the_same_pins_as_requirements_txt():
    carried, pinned = pins(GPU_REQUIREMENTS), pins(REPO_ROOT / "requirements.txt")
    assert carried, f"no pins read from {GPU_REQUIREMENTS}"
    differ = {name: (version, pinned.get(name)) for name, version in carried.items() if pinned.get(name) != version}
    assert not differ, f"(gpu_requirements.txt, requirements.txt) pins differ: {differ}"
    assert not carried.keys() & (ON_THE_GPU_MACHINE | NOT_NEEDED_THERE.keys())


def test_every_package_the_grader_imports_is_carried_or_on_the_gpu_machine():
    imported = set()
    for path in (REPO_ROOT / "grader").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    # assignment_probe and device are the probe's own files, copied beside the driver in /probe.
    third_party = {name for name in imported if name not in sys.stdlib_module_names} - {"grader", "assignment_probe", "device"}
    carried = {MODULE_OF.get(name, name) for name in pins(GPU_REQUIREMENTS)}
    missing = third_party - carried - ON_THE_GPU_MACHINE - NOT_NEEDED_THERE.keys()
    assert not missing, f"grader/ imports {sorted(missing)}: add them to {GPU_REQUIREMENTS.name} (and requirements.txt)"


def test_the_cpu_pass_grades_with_no_gpu_share_and_the_gpu_pass_keeps_the_declared_one():
    train = next(p for p in load_assignment("lenet5").phases if p.name == "train")
    config = Config(use_keras_download=False)
    assert phase_envelope(train, gpu.device_config(config, "gpu")).gpu == GPU_SHARE
    assert phase_envelope(train, gpu.device_config(config, "cpu")).gpu == 0


def test_the_quick_option_sizes_every_workload_down_and_named_options_win():
    options = gpu.parse_options(["--cpu-only", "--quick", "--class-size", "3", "--skip", "throughput"])
    assert options.devices == ("cpu",) and options.skip == {"throughput"}
    assert options.references == ("conv_ops",) and options.class_size == 3 and options.sharing == 2
    assert gpu.parse_options([]).sharing == round(1 / GPU_SHARE) == 8


def test_a_cpu_only_quick_dry_run_measures_every_workload(tmp_path):
    pytest.importorskip("jax")
    config = Config(use_keras_download=False, secret_path=tmp_path / "secret", keras_backend="jax",
                    cache_dir=tmp_path / "cache")
    options = dataclasses.replace(gpu.parse_options(["--cpu-only", "--quick"]), out=tmp_path / "out",
                                  throughput_images=128)
    gpu.measure(options, config)

    results = json.loads((tmp_path / "out" / "gpu.json").read_text())
    cpu = results["runs"]["cpu"]
    assert cpu["references"]["conv_ops"]["full_marks"], cpu["references"]["conv_ops"]["lost"]
    assert cpu["throughput"]["mnist_convnet"].get("images_per_second", 0) > 0, cpu["throughput"]
    assert cpu["throughput"]["mnist_convnet"]["device"].startswith("CPU")
    assert cpu["shared"]["all_finished"] and cpu["shared"]["same_scores_as_alone"], cpu["shared"]
    assert cpu["class"]["graded"] == 2 and cpu["class"]["same_score_for_each_copy"], cpu["class"]
    assert results["machine"]["keras_backend"] == "jax" and results["not_run"] == []
    table = (tmp_path / "out" / "gpu.md").read_text()
    assert "| cpu | conv_ops | 30/30 |" in table and "gradings per hour" in table


def test_a_measurement_after_the_deadline_is_listed_as_not_run(tmp_path):
    config = Config(use_keras_download=False, secret_path=tmp_path / "secret")
    options = dataclasses.replace(gpu.parse_options(["--cpu-only", "--quick", "--skip", "throughput", "class", "shared"]),
                                  out=tmp_path, deadline_seconds=0)
    results = gpu.measure(options, config)
    assert results.runs["cpu"]["references"] == {}
    assert results.not_run == ["cpu references conv_ops: the 0 s deadline had passed"]


FAKE_NVIDIA_SMI = """\
#!/bin/sh
case "$*" in
  *query-compute-apps*) echo "4242, 1800"; echo "4243, 2100";;
  *memory.total*) echo "143771";;
  *memory.used*) echo "4400";;
esac
"""


def test_the_gpu_memory_sampler_keeps_each_process_peak(tmp_path, monkeypatch):
    smi = tmp_path / "nvidia-smi"
    smi.write_text(FAKE_NVIDIA_SMI)
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with gpu.GpuMemory() as memory:
        time.sleep(gpu.NVIDIA_SMI_PERIOD * 2.5)
    figures = memory.figures(sandboxes=2)
    assert figures["per_process_peak_mib"] == [1800, 2100]
    assert figures["share_mib"] == round(143771 * GPU_SHARE)
    assert figures["within_share"] is True


@pytest.mark.slow  # ~15 s on an idle 2-core machine, most of it making the venv
@pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap does not work here")
def test_gpu_check_sh_makes_a_venv_that_sees_the_host_venvs_packages_inside_the_sandbox(tmp_path):
    # This machine's .venv stands in for the GPU image's /opt/torch/.venv: a venv whose packages a
    # venv made from it does not see without the .pth. No wheels: every pin is already installed here
    # (pip's --no-index install fails if a version differs), so the run needs no network.
    wheels, out, venv = tmp_path / "wheels", tmp_path / "out", tmp_path / "venv"
    wheels.mkdir()
    # The GPU machine has no TensorFlow: outside the sandboxes (whose environment is clean), an
    # import of it fails here too, as it would there.
    (tmp_path / "no-tf" / "tensorflow").mkdir(parents=True)
    (tmp_path / "no-tf" / "tensorflow" / "__init__.py").write_text("raise ImportError('no TensorFlow on the GPU machine')\n")
    env = {**os.environ, "GPU_CHECK_PYTHON": sys.executable, "GPU_CHECK_WHEELS": str(wheels),
           "GPU_CHECK_VENV": str(venv), "OUT": str(out), "PYTHONPATH": str(tmp_path / "no-tf")}
    env.pop("KERAS_BACKEND", None)
    run = subprocess.run([str(REPO_ROOT / "scripts" / "gpu_check.sh"), "--cpu-only", "--quick",
                          "--skip", "throughput", "shared", "class"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert json.loads((out / "gpu.json").read_text())["runs"]["cpu"]["references"]["conv_ops"]["full_marks"]
    assert (out / "gpu_check.log").read_text().count("measuring") == 1

    probe = textwrap.dedent("""
        import keras, numpy
        print(keras.__version__, numpy.__version__)
    """)
    (tmp_path / "sandbox-out").mkdir()
    sandboxed = run_sandboxed([str(venv / "bin" / "python"), "-c", probe], ro_binds={},
                              rw_binds={tmp_path / "sandbox-out": "/out"}, envelope=Envelope(seconds=60),
                              env={"KERAS_BACKEND": "jax"}, use_bubblewrap=True)
    assert sandboxed.status == "ok", sandboxed.output[-2000:]


def test_with_a_gpu_the_gpu_figures_come_first_and_sharing_and_the_class_run_on_the_gpu_only(tmp_path, monkeypatch):
    done = []
    monkeypatch.setattr(gpu.devices, "gpus", lambda: [gpu.devices.Gpu(0, "GPU-fake")])
    monkeypatch.setattr(gpu, "machine", lambda config: {})
    monkeypatch.setattr(gpu, "grade_reference", lambda name, config, **_: done.append(("references", config.overrides.gpu)) or {})
    monkeypatch.setattr(gpu, "throughput", lambda model, images, device, config: done.append(("throughput", device)) or {})
    monkeypatch.setattr(gpu, "grade_together", lambda *args: done.append(("shared", args[2].overrides.gpu)) or {})
    monkeypatch.setattr(gpu, "grade_class", lambda *args: done.append(("class", args[3].overrides.gpu)) or {})
    monkeypatch.setattr(gpu, "markdown", lambda results: "")
    options = dataclasses.replace(gpu.parse_options([]), references=("conv_ops",), throughput_models=("lenet5",),
                                  out=tmp_path)
    gpu.measure(options, Config(use_keras_download=False, secret_path=tmp_path / "secret"))
    # None: the phases' own GPU share; 0.0: the CPU pass.
    assert done == [("references", None), ("throughput", "gpu"), ("throughput", "cpu"), ("shared", None),
                    ("class", None), ("references", 0.0)]


@pytest.mark.gpu
@pytest.mark.skipif(not gpu.devices.gpus(), reason="needs an NVIDIA GPU (/dev/nvidia*)")
def test_on_a_gpu_machine_a_reference_grades_on_the_gpu_with_full_marks(tmp_path):
    pytest.importorskip("jax")
    config = Config(use_keras_download=False, secret_path=tmp_path / "secret", keras_backend="jax",
                    cache_dir=tmp_path / "cache")
    options = dataclasses.replace(gpu.parse_options(["--references", "mnist_convnet", "--skip", "throughput", "shared",
                                                     "class"]), devices=("gpu",), out=tmp_path)
    row = gpu.measure(options, config).runs["gpu"]["references"]["mnist_convnet"]
    assert row["full_marks"], row["lost"]
    assert row["device"].startswith("GPU"), f"graded on {row['device']!r}, expected the GPU:\n{row['log_tail']}"
