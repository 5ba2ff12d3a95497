"""The command line's resource options: --timeout, --memory and --cpus, and --workers capped to the machine."""

import dataclasses

import pytest

from grader import cli
from grader.assignment import load_assignment
from grader.cli.options import USAGE_ERROR, configured, machine_workers
from grader.config import REPO_ROOT, Config, EnvelopeOverrides
from grader.grading import phase_envelope


def overrides_of(*options: str) -> EnvelopeOverrides:
    return configured(cli.parser().parse_args(["check", "x.py", "-a", "conv_ops", *options]), Config()).overrides


def test_the_options_override_every_phase_of_the_assignment():
    config = Config(overrides=overrides_of("--timeout", "30", "--memory", "1.5G", "--cpus", "2"))
    train = next(p for p in load_assignment("digit_adder").phases if p.name == "train")
    envelope = phase_envelope(train, config)
    assert (envelope.seconds, envelope.memory_bytes, envelope.cpus) == (30, 3 * 2**29, 2)
    assert phase_envelope(train, Config()).seconds == train.seconds, "without options the phase's own budget"


@pytest.mark.parametrize("options, message", [
    (("--timeout", "0"), "Expected a strictly positive value. Received --timeout=0.0."),
    (("--cpus", "0"), "Expected a strictly positive value. Received --cpus=0."),
    (("--memory", "lots"), "Expected a size such as 4G, 512M or 1.5GiB. Received 'lots'."),
])
def test_bad_values_are_the_users_mistake(options, message, capsys):
    assert cli.main(["check", str(REPO_ROOT / "reference" / "conv_ops.py"), "-a", "conv_ops", *options]) == USAGE_ERROR
    assert capsys.readouterr().err.strip() == f"error: {message}"


def test_more_workers_than_the_machine_holds_are_capped_and_said_once(capsys):
    config = Config(cores=(0, 1))
    adder = load_assignment("digit_adder")
    assert machine_workers(8, [adder], config) == 2
    assert capsys.readouterr().err == ("--workers 8: this machine gives sandboxes 2 cores and every phase needs at "
                                       "least 1, so at most 2 phases can run at once; grading with 2 workers.\n")
    assert machine_workers(2, [adder], config) == 2
    assert capsys.readouterr().err == ""
    wide = dataclasses.replace(config, overrides=EnvelopeOverrides(cpus=2))
    assert machine_workers(2, [adder], wide) == 1


def test_assignments_lists_each_phases_envelope(capsys):
    assert cli.main(["assignments"]) == 0
    shown = capsys.readouterr().out
    assert "phase train: 240 s on 2 cores, 4 GiB, 0.125 of a GPU where there is one" in shown
    assert "phase run: 60 s on 1 core, 4 GiB" in shown


def test_db_and_course_options_change_the_configuration(tmp_path):
    args = cli.parser().parse_args(["scoreboard", "--db", "sqlite:///x.db", "--course", str(tmp_path / "c.toml")])
    config = configured(args, Config())
    assert (config.db_url, config.course_file) == ("sqlite:///x.db", tmp_path / "c.toml")
