"""`python -m grader roster import`: the class list from a CSV, and an upload token for each student."""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from grader.store import Gradebook

ID_COLUMN = "student_id"
NAME_COLUMN = "display_name"
MAX_ERRORS_SHOWN = 10


class RosterError(ValueError):
    """The roster CSV cannot be used as it is; the message names the lines to fix."""


@dataclass(frozen=True)
class RosterEntry:
    """One student line of the roster."""

    student_id: str
    """The id the course knows the student by, without surrounding whitespace."""
    display_name: str | None
    """The name staff see, or None where the roster has no such column or leaves it empty."""
    line: int
    """The line of the CSV it came from (the header is line 1), for messages."""


@dataclass
class RosterImport:
    """What an import changed."""

    added: list[str] = field(default_factory=list)
    """Ids of students the gradebook did not know before."""
    renamed: list[str] = field(default_factory=list)
    """Ids of known students whose display name the roster changed."""
    tokens: list[tuple[str, str]] = field(default_factory=list)
    """(student id, token) for every token issued: the only copy of each token."""


def read_roster(data: bytes, source: str = "the roster") -> list[RosterEntry]:
    """The students of a roster CSV: a header with student_id (display_name optional, other columns
    ignored), a byte-order mark and whitespace around values tolerated, blank lines skipped."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise RosterError(f"{source}, line {line}: not UTF-8 text; save the roster as 'CSV UTF-8' "
                          "and try again.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        raise RosterError(f"{source} is empty: expected a header line naming a {ID_COLUMN} column "
                          f"(and optionally {NAME_COLUMN}), then one line per student.")
    columns = [cell.strip().lower() for cell in header]
    if ID_COLUMN not in columns:
        raise RosterError(f"{source}, line {reader.line_num}: expected a header naming a {ID_COLUMN} column "
                          f"(and optionally {NAME_COLUMN}). Received: {', '.join(map(repr, header))}.")
    id_at = columns.index(ID_COLUMN)
    name_at = columns.index(NAME_COLUMN) if NAME_COLUMN in columns else None

    entries: list[RosterEntry] = []
    first_line: dict[str, int] = {}
    errors: list[str] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        student_id = row[id_at].strip() if id_at < len(row) else ""
        if not student_id:
            errors.append(f"line {line}: the {ID_COLUMN} is empty")
            continue
        if student_id in first_line:
            errors.append(f"line {line}: {ID_COLUMN} {student_id!r} appears again (first on line "
                          f"{first_line[student_id]})")
            continue
        first_line[student_id] = line
        name = row[name_at].strip() if name_at is not None and name_at < len(row) else ""
        entries.append(RosterEntry(student_id, name or None, line))
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = f"\n  ... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        raise RosterError(f"{source} has {len(errors)} line{'s' if len(errors) > 1 else ''} to fix; "
                          "nothing was imported:\n  " + "\n  ".join(shown) + more)
    return entries


def import_roster(gradebook: Gradebook, entries: list[RosterEntry], *, reissue: bool = False) -> RosterImport:
    """Adds the students (updating display names) and issues tokens to those without one, or to all
    with `reissue`; importing the same roster again changes nothing."""
    known = {student.id: student for student in gradebook.students()}
    result = RosterImport()
    for entry in entries:
        before = known.get(entry.student_id)
        gradebook.ensure_student(entry.student_id, entry.display_name)
        if before is None:
            result.added.append(entry.student_id)
        elif entry.display_name is not None and entry.display_name != before.display_name:
            result.renamed.append(entry.student_id)
        if reissue or before is None or not before.has_token:
            result.tokens.append((entry.student_id, gradebook.issue_token(entry.student_id)))
    return result


def needs_tokens(gradebook: Gradebook, entries: list[RosterEntry], *, reissue: bool = False) -> bool:
    """Whether importing these entries would issue any token."""
    with_token = {student.id for student in gradebook.students() if student.has_token}
    if reissue:
        return bool(entries)
    return any(entry.student_id not in with_token for entry in entries)


def write_tokens(tokens: list[tuple[str, str]], out: TextIO) -> None:
    """The tokens as CSV: a student_id,token header, then one line per student."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([ID_COLUMN, "token"])
    writer.writerows(tokens)


def import_roster_file(gradebook: Gradebook, path: Path, *, tokens_out: Path | None = None,
                       reissue: bool = False, out: TextIO | None = None) -> RosterImport:
    """The `roster import` command: reads and checks the whole CSV, then imports it; new tokens go
    to `tokens_out` (created with mode 0600, never overwritten) or else to `out`."""
    if not path.is_file():
        raise RosterError(f"{path} does not exist or is not a file.")
    entries = read_roster(path.read_bytes(), str(path))
    tokens_file = None
    if tokens_out is not None and needs_tokens(gradebook, entries, reissue=reissue):
        # Opened before any token is issued: a token that cannot be written down is lost for good.
        tokens_file = _create_private(tokens_out)
    try:
        result = import_roster(gradebook, entries, reissue=reissue)
        if tokens_file is not None:
            write_tokens(result.tokens, tokens_file)
        elif tokens_out is None and result.tokens:
            write_tokens(result.tokens, out or sys.stdout)
    finally:
        if tokens_file is not None:
            tokens_file.close()
    return result


def _create_private(path: Path) -> TextIO:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RosterError(f"{path} already exists and may hold tokens that exist nowhere else (the gradebook "
                          "keeps only their hashes): choose another file, or delete it first.") from None
    except OSError as error:
        raise RosterError(f"Cannot create {path}: {error.strerror}.") from None
    os.fchmod(fd, 0o600)  # exactly owner read-write, whatever the umask
    return os.fdopen(fd, "w", newline="")
