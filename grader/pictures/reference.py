"""The reference model's robustness curves: graded once per grader version, data and secret, then cached."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from grader.config import REPO_ROOT
from grader.pictures.figures import RobustnessCurve

log = logging.getLogger(__name__)

RETRY_SECONDS = 3600
"""After a failed attempt, gradings within this long do without the reference's curves instead of
training the reference again each time."""
UNAVAILABLE = "the grader could not compute the reference model's curves; the course staff have the details"


@dataclass(frozen=True)
class ReferenceCurves:
    """The reference solution's curves on the same transformed hidden digits, or why there are none."""

    curves: tuple[RobustnessCurve, ...] = ()
    missing: str | None = None
    """In the student's words, when `curves` is empty."""


def cache_key(assignment_name: str, version: str, images: np.ndarray, public_labels: np.ndarray) -> str:
    """Changes with the grader version, the reference solution, the data and the transformed digits
    (which the instructor's secret draws), so a cached curve is never one of other digits."""
    digest = hashlib.sha256()
    for part in (assignment_name.encode(), version.encode(), _reference_path(assignment_name).read_bytes(),
                 np.ascontiguousarray(images).tobytes(), np.ascontiguousarray(public_labels).tobytes()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:20]


def robustness_of_reference(context, images: np.ndarray) -> ReferenceCurves:
    """The reference's curves for the robustness `images` this grading sends: from the cache under
    `config.cache_dir`, else computed by grading reference/<assignment>.py with reference=True,
    under a file lock so that concurrent workers compute it once. Never raises."""
    from grader.grading import grader_version

    assignment, config = context.assignment, context.config
    if not _reference_path(assignment.name).is_file():
        return ReferenceCurves(missing="this assignment has no reference solution to compare with")
    try:
        key = cache_key(assignment.name, grader_version(assignment), images, context.mnist().public.labels)
        folder = Path(config.cache_dir) / "reference"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"{assignment.name}-{key}"
        with open(stem.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            cached = _read(stem.with_suffix(".json"))
            if cached is not None:
                return ReferenceCurves(cached)
            if _failed_recently(stem.with_suffix(".failed")):
                return ReferenceCurves(missing=UNAVAILABLE)
            return _compute(context, stem)
    except OSError as error:
        log.error("reference curves for %s: the cache failed: %s", assignment.name, error)
        return ReferenceCurves(missing=UNAVAILABLE)


def _reference_path(assignment_name: str) -> Path:
    return REPO_ROOT / "reference" / f"{assignment_name}.py"


def _compute(context, stem: Path) -> ReferenceCurves:
    from grader.grading import grade_path

    assignment = context.assignment
    started = time.monotonic()
    report = grade_path(_reference_path(assignment.name), assignment, context.config, student="reference",
                        reference=True)
    figures = report.figures
    curves = figures.robustness if figures is not None else ()
    seconds = round(time.monotonic() - started, 1)
    if not curves:
        why = (figures.missing.get("robustness") if figures is not None else None) or "no report figures"
        log.error("reference curves for %s: grading the reference gave none (%s; score %s of %s)\n%s",
                  assignment.name, why, report.score, report.max_score, report.instructor_log[-3000:])
        _write(stem.with_suffix(".failed"), {"why": why, "at": time.time(), "seconds": seconds})
        return ReferenceCurves(missing=UNAVAILABLE)
    _write(stem.with_suffix(".json"), {"curves": [asdict(curve) for curve in curves], "score": report.score,
                                       "max_score": report.max_score, "grader_version": report.grader_version,
                                       "seconds": seconds})
    log.info("reference curves for %s computed in %.0f s (score %s of %s)", assignment.name, seconds,
             report.score, report.max_score)
    return ReferenceCurves(tuple(curves))


def _read(path: Path) -> tuple[RobustnessCurve, ...] | None:
    """The cached curves, or None when there are none (or the file is damaged: computed again)."""
    try:
        stored = json.loads(path.read_text())
        return tuple(RobustnessCurve(str(c["transform"]), tuple(float(v) for v in c["levels"]),
                                     tuple(float(v) for v in c["accuracy"]), int(c["digits"]))
                     for c in stored["curves"]) or None
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        log.warning("reference curves: %s is damaged (%s); computing it again", path, error)
        return None


def _failed_recently(path: Path) -> bool:
    try:
        return time.time() - float(json.loads(path.read_text())["at"]) < RETRY_SECONDS
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return False


def _write(path: Path, value: dict) -> None:
    """Atomically, so that a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value))
    tmp.replace(path)
