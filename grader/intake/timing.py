"""When a submission was made: the server's receive time, `--submitted-at`, a manifest CSV, or the file's mtime."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.submission.wording import shown

MANIFEST_NAME = "manifest.csv"
"""Beside the files of a class: student,file,submitted_at, as LMS downloads carry them."""
MANIFEST_COLUMNS = ("student", "file", "submitted_at")
TIME_SOURCES = ("received", "flag", "manifest", "modified")
"""How a submission's time was decided: an upload's receive time on the server, `--submitted-at`,
the manifest CSV, or the file's modification time (the weakest, and the report says so)."""
SOURCE_WORDS = {
    "received": "when the server received it",
    "flag": "given with --submitted-at",
    "manifest": f"from {MANIFEST_NAME}",
    "modified": "the file's modification time (no --submitted-at or manifest)",
}


@dataclass(frozen=True)
class SubmissionTime:
    """A submission's time and where it came from."""

    at: datetime
    """Timezone-aware."""
    source: str
    """One of TIME_SOURCES."""

    def describe(self) -> str:
        return f"Submitted {self.at.isoformat(timespec='minutes')} ({SOURCE_WORDS[self.source]})."


@dataclass(frozen=True)
class ManifestEntry:
    student: str
    submitted_at: datetime | None


@dataclass(frozen=True)
class Manifest:
    """A class folder's manifest: file name -> who submitted it and when."""

    path: Path
    entries: dict[str, ManifestEntry]

    def entry(self, filename: str) -> ManifestEntry | None:
        return self.entries.get(filename)


def parse_time(text: str, what: str = "--submitted-at") -> datetime:
    """An ISO-8601 time with its offset ("2026-12-15T23:59:00+08:00", or "...Z"); ValueError otherwise."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"Expected an ISO-8601 time such as 2026-12-15T23:59:00+08:00 for {what}. "
                         f"Received {text!r}.") from None
    if when.tzinfo is None:
        raise ValueError(f"Expected an ISO-8601 time with its offset (+08:00, Z) for {what}, since a deadline "
                         f"depends on it. Received {text!r}.")
    return when


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest beside a class's files, if there is one; ValueError naming the line when it is malformed."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return None
    entries: dict[str, ManifestEntry] = {}
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = [column for column in ("student", "file") if column not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: expected the columns {', '.join(MANIFEST_COLUMNS)}. "
                             f"Received {', '.join(reader.fieldnames or ()) or 'no header'}.")
        for line, row in enumerate(reader, 2):
            filename, student = (row.get("file") or "").strip(), (row.get("student") or "").strip()
            if not filename or not student:
                raise ValueError(f"{path}, line {line}: expected a student and a file. Received {row!r}.")
            if filename in entries:
                raise ValueError(f"{path}, line {line}: {shown(filename)} is listed twice.")
            text = (row.get("submitted_at") or "").strip()
            when = parse_time(text, f"submitted_at on line {line} of {path}") if text else None
            entries[filename] = ManifestEntry(student, when)
    return Manifest(path, entries)


def submission_time(path: Path, *, flag: datetime | None = None, entry: ManifestEntry | None = None) -> SubmissionTime:
    """--submitted-at first, then the manifest, then the file's (or folder's) modification time."""
    if flag is not None:
        return SubmissionTime(flag, "flag")
    if entry is not None and entry.submitted_at is not None:
        return SubmissionTime(entry.submitted_at, "manifest")
    return SubmissionTime(datetime.fromtimestamp(_modified(Path(path)), timezone.utc), "modified")


def _modified(path: Path) -> float:
    """A file's mtime; for a folder, its newest file's (a folder's own mtime changes only when entries come or go)."""
    if not path.is_dir():
        return path.stat().st_mtime
    times = [entry.stat().st_mtime for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink()]
    return max(times, default=path.stat().st_mtime)
