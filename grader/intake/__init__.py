"""Intake: any path or upload becomes one stored artifact (name, bytes, hash) once, its limits checked first."""

from grader.intake.artifact import (
    SUFFIXES,
    Artifact,
    IntakeError,
    from_path,
    from_upload,
    load,
    safe_filename,
)
from grader.intake.timing import (
    MANIFEST_NAME,
    TIME_SOURCES,
    Manifest,
    ManifestEntry,
    SubmissionTime,
    parse_time,
    read_manifest,
    submission_time,
)

__all__ = [
    "MANIFEST_NAME",
    "SUFFIXES",
    "TIME_SOURCES",
    "Artifact",
    "IntakeError",
    "Manifest",
    "ManifestEntry",
    "SubmissionTime",
    "from_path",
    "from_upload",
    "load",
    "parse_time",
    "read_manifest",
    "safe_filename",
    "submission_time",
]
