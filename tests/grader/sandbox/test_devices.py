"""GPU devices and framework settings, on a made-up /dev and /proc/driver/nvidia (CI has no GPU)."""

from grader.sandbox import devices


def fake_host(tmp_path, gpus=2):
    dev, driver = tmp_path / "dev", tmp_path / "driver"
    dev.mkdir()
    for name in ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", *(f"nvidia{n}" for n in range(gpus)), "null"]:
        (dev / name).touch()
    for n in range(gpus):
        card = driver / f"0000:0{n}:00.0"
        card.mkdir(parents=True)
        (card / "information").write_text(f"Model: \t NVIDIA H200\nIRQ: \t 70\nGPU UUID: \t GPU-{n}aaa-bbbb\n"
                                          f"Video BIOS: \t 96.00\nBus Type: \t PCIe\nDevice Minor: \t {n}\n")
    return dev, driver


def test_gpus_are_found_by_their_nodes_with_their_uuids(tmp_path):
    dev, driver = fake_host(tmp_path)
    assert devices.gpus(dev, driver) == [devices.Gpu(0, "GPU-0aaa-bbbb"), devices.Gpu(1, "GPU-1aaa-bbbb")]


def test_a_machine_without_the_driver_has_no_gpus(tmp_path):
    assert devices.gpus(tmp_path, tmp_path / "absent") == []


def test_a_sandbox_gets_its_own_gpu_node_and_the_control_nodes_only(tmp_path):
    dev, driver = fake_host(tmp_path)
    second = devices.gpus(dev, driver)[1]
    assert devices.gpu_nodes(second, dev) == [str(dev / name) for name in
                                             ("nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")]


def test_a_gpu_share_sets_every_framework_to_grow_within_it(tmp_path):
    dev, driver = fake_host(tmp_path)
    env = devices.framework_env(2, devices.gpus(dev, driver)[1], 0.125)
    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-1aaa-bbbb"
    assert (env["XLA_PYTHON_CLIENT_PREALLOCATE"], env["XLA_PYTHON_CLIENT_MEM_FRACTION"]) == ("false", "0.125")
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert env["GRADER_GPU_MEMORY_FRACTION"] == "0.125"


def test_without_a_gpu_no_device_is_visible_and_threads_match_the_cores():
    env = devices.framework_env(3, None, 0.0)
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert {env[name] for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                   "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")} == {"3"}
