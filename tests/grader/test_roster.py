"""Roster import: reading the course's CSV, idempotent imports, tokens that are shown once and stored hashed."""

import csv
import io
import stat

import pytest
from sqlalchemy import select

from grader.cli import main
from grader.roster import RosterError, read_roster
from grader.store import Gradebook
from grader.store.schema import Student

ROSTER = (
    "\ufeffStudent_ID , Display_Name, email\r\n"
    " s001 ,  Ada Lovelace , ada@example.org\r\n"
    "\r\n"
    "s002,,grace@example.org\r\n"
    "s003,Alan Turing\r\n"
)


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'grades.db'}"


def import_roster(url, path, *options, capsys) -> tuple[int, dict[str, str], str]:
    """Runs `roster import`; returns the exit status, the tokens it printed, and what it said on stderr."""
    status = main(["roster", "import", str(path), "--db", url, *options])
    printed = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(printed.out)))
    assert rows[:1] in ([], [["student_id", "token"]]), printed.out
    return status, dict(rows[1:]), printed.err


def write(tmp_path, text, name="roster.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_read_roster_tolerates_bom_whitespace_blank_lines_and_extra_columns():
    entries = read_roster(ROSTER.encode())
    assert [(e.student_id, e.display_name, e.line) for e in entries] == [
        ("s001", "Ada Lovelace", 2), ("s002", None, 4), ("s003", "Alan Turing", 5)]
    assert [e.display_name for e in read_roster(b"student_id\ns001\n")] == [None]


@pytest.mark.parametrize("content, message", [
    (b"", "is empty: expected a header line naming a student_id column"),
    (b"\n\n", "is empty"),
    (b"id,name\ns001,Ada\n", "line 1: expected a header naming a student_id column (and optionally display_name). "
                             "Received: 'id', 'name'."),
    (b"student_id,display_name\ns001,Ada\ns002,Bob\ns001,Ada again\n",
     "line 4: student_id 's001' appears again (first on line 2)"),
    (b"student_id,display_name\n ,Nobody\n", "line 2: the student_id is empty"),
    ("student_id\ns\u00e9bastien\n".encode("latin-1"), "roster.csv, line 2: not UTF-8 text"),
])
def test_read_roster_explains_what_to_fix(content, message):
    with pytest.raises(RosterError) as raised:
        read_roster(content, "roster.csv")
    assert message in str(raised.value)


def test_every_bad_line_is_listed_at_once():
    lines = "student_id\n" + "".join("s001\n" for _ in range(14))
    with pytest.raises(RosterError) as raised:
        read_roster(lines.encode(), "roster.csv")
    assert "roster.csv has 13 lines to fix; nothing was imported" in str(raised.value)
    assert "line 3:" in str(raised.value) and "... and 3 more" in str(raised.value)


def test_import_issues_tokens_once_and_is_idempotent(url, tmp_path, capsys):
    path = write(tmp_path, ROSTER)
    status, tokens, said = import_roster(url, path, capsys=capsys)
    assert status == 0 and sorted(tokens) == ["s001", "s002", "s003"]
    assert "3 students added, 0 renamed, 3 tokens issued" in said

    again, no_tokens, said_again = import_roster(url, path, capsys=capsys)
    assert (again, no_tokens) == (0, {})
    assert "0 students added, 0 renamed, 0 tokens issued" in said_again

    with Gradebook(url) as gradebook:
        assert {student: gradebook.student_for_token(token) for student, token in tokens.items()} == {
            s: s for s in tokens}
        assert [(s.id, s.display_name) for s in gradebook.students()] == [
            ("s001", "Ada Lovelace"), ("s002", None), ("s003", "Alan Turing")]
        with gradebook.engine.connect() as connection:
            stored = " ".join(str(v) for row in connection.execute(select(Student.__table__)) for v in row)
    assert not any(token in stored for token in tokens.values())


def test_a_grown_roster_adds_students_renames_and_leaves_the_others_tokens_alone(url, tmp_path, capsys):
    _, first, _ = import_roster(url, write(tmp_path, ROSTER), capsys=capsys)
    grown = write(tmp_path, "student_id,display_name\ns001,Ada King\ns002,\ns004,Edsger Dijkstra\n", "week2.csv")

    status, tokens, said = import_roster(url, grown, capsys=capsys)

    assert (status, sorted(tokens)) == (0, ["s004"])
    assert "1 students added, 1 renamed, 1 tokens issued" in said
    with Gradebook(url) as gradebook:
        names = {s.id: s.display_name for s in gradebook.students()}
        assert names == {"s001": "Ada King", "s002": None, "s003": "Alan Turing", "s004": "Edsger Dijkstra"}
        assert gradebook.student_for_token(first["s001"]) == "s001"


def test_reissue_replaces_every_token_in_the_roster(url, tmp_path, capsys):
    path = write(tmp_path, ROSTER)
    _, old, _ = import_roster(url, path, capsys=capsys)
    status, new, _ = import_roster(url, path, "--reissue", capsys=capsys)
    assert status == 0 and sorted(new) == sorted(old)
    with Gradebook(url) as gradebook:
        for student in old:
            assert new[student] != old[student]
            assert gradebook.student_for_token(old[student]) is None
            assert gradebook.student_for_token(new[student]) == student


def test_tokens_out_is_private_and_never_overwritten(url, tmp_path, capsys):
    path = write(tmp_path, ROSTER)
    tokens_out = tmp_path / "tokens.csv"
    status, printed, said = import_roster(url, path, "--tokens-out", str(tokens_out), capsys=capsys)

    assert (status, printed) == (0, {})
    assert f"(written to {tokens_out})" in said
    assert stat.S_IMODE(tokens_out.stat().st_mode) == 0o600
    rows = list(csv.reader(tokens_out.open()))
    assert rows[0] == ["student_id", "token"] and [r[0] for r in rows[1:]] == ["s001", "s002", "s003"]

    # Nothing new to write: the file is left as it is.
    assert import_roster(url, path, "--tokens-out", str(tokens_out), capsys=capsys)[0] == 0
    assert list(csv.reader(tokens_out.open())) == rows
    # New tokens would overwrite it: refused before any token is issued.
    status, _, said = import_roster(url, path, "--reissue", "--tokens-out", str(tokens_out), capsys=capsys)
    assert status == 2 and "already exists and may hold tokens that exist nowhere else" in said
    with Gradebook(url) as gradebook:
        assert gradebook.student_for_token(rows[1][1]) == "s001"


def test_a_bad_roster_changes_nothing(url, tmp_path, capsys):
    path = write(tmp_path, "student_id\ns001\ns001\n")
    status, tokens, said = import_roster(url, path, capsys=capsys)
    assert (status, tokens) == (2, {})
    assert "line 3: student_id 's001' appears again (first on line 2)" in said
    with Gradebook(url) as gradebook:
        assert gradebook.students() == []
    status, _, said = import_roster(url, tmp_path / "missing.csv", capsys=capsys)
    assert status == 2 and "missing.csv does not exist" in said
