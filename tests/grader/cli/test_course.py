"""`extension add|list|remove`, and what an extension does to a final grade."""

import pytest

from grader import cli
from grader.cli.options import USAGE_ERROR
from tests.grader.cli.test_grading import REFERENCE, write


def test_an_extension_makes_a_late_submission_on_time(env, tmp_path, capsys):
    options, _ = env
    path = write(tmp_path / "s01.py", REFERENCE)
    assert cli.main(["grade", str(path), "-a", "conv_ops", "--submitted-at", "2026-12-02T03:00:00+08:00",
                     *options]) == 0
    assert "Final grade for conv_ops: 24/30" in capsys.readouterr().out
    assert cli.main(["extension", "add", "s01", "conv_ops", "--until", "2026-12-03T12:00:00+08:00", *options]) == 0
    assert "s01 may submit conv_ops until 2026-12-03 12:00 (Asia/Shanghai) without penalty." in capsys.readouterr().out
    assert cli.main(["scoreboard", *options]) == 0
    board = capsys.readouterr().out
    assert "30/30" in board and "raw" not in board

    assert cli.main(["extension", "list", *options]) == 0
    listed = capsys.readouterr().out
    assert "s01" in listed and "2026-12-03 12:00 (Asia/Shanghai)" in listed and "gradebook" in listed
    assert cli.main(["extension", "remove", "s01", "conv_ops", *options]) == 0
    assert cli.main(["scoreboard", *options]) == 0
    assert "24/30 (raw 30)" in capsys.readouterr().out


def test_an_extension_before_the_due_date_changes_nothing_and_says_so(env, capsys):
    options, _ = env
    assert cli.main(["extension", "add", "s01", "conv_ops", "--until", "2026-11-20T12:00:00+08:00", *options]) == 0
    assert "an extension never shortens" in capsys.readouterr().err


@pytest.mark.parametrize("command, message", [
    (["extension", "add", "s01", "no_such", "--until", "2026-12-03T12:00:00+08:00"], "no_such"),
    (["extension", "remove", "s01", "conv_ops"], "has no extension for s01 on conv_ops"),
])
def test_bad_extension_commands_say_why(env, command, message, capsys):
    options, _ = env
    assert cli.main([*command, *options]) == USAGE_ERROR
    assert message in capsys.readouterr().err


def test_a_time_without_its_offset_is_refused_with_the_reason(env, capsys):
    options, _ = env
    with pytest.raises(SystemExit) as exited:
        cli.main(["extension", "add", "s01", "conv_ops", "--until", "2026-12-03", *options])
    assert exited.value.code == USAGE_ERROR
    assert "with its offset (+08:00, Z)" in capsys.readouterr().err
