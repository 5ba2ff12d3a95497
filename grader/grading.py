"""Grades one submission: load it, run the assignment's phases in sandboxes, score the observations."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import math
import os
import shutil
import stat
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader import __version__
from grader.assignment import SHOWN_ONCE, Assignment, Evidence, Phase, PhaseOutcome, common_keys_problem
from grader.checks import NotObserved
from grader.cluster import PhaseRunner
from grader.config import Config
from grader.data import MnistData, load_mnist
from grader.fontcache import font_list
from grader.pictures.collect import collect as collect_figures
from grader.pictures.figures import Figures
from grader.present import size_text
from grader.results import CheckResult, GradingReport
from grader.sandbox import (
    Envelope,
    SandboxRun,
    make_output_folder,
    release_output_folder,
    run_sandboxed,
)
from grader.sandbox.observations import ObservationError, read_json
from grader.submission import ReaderUnavailable, Submission, SubmissionError, write_for_sandbox

log = logging.getLogger(__name__)

PROBE_DIR = Path(__file__).resolve().parent / "probe"
PROBE_FILES = ("driver.py", "keras_probe.py", "device.py", "fonts.conf")
MAX_CARRIED_FILE = 512 * 2**20  # a trained model handed from one phase to the next
MAX_ERROR_NOTES = 8  # distinct errors shown in full in the notes: conv_ops's starter has six
OUTPUT_TAIL = 1500  # characters of the sandbox's output a student sees when a phase fails
RECORD_OF_THE_PHASE = "the grader's record of what your code did"  # observations.json, in the student's words


@dataclass
class GradingContext:
    """What phase input builders may use; anything they put in `secrets` stays on the trusted side."""

    config: Config
    assignment: Assignment
    self_check: bool
    reference: bool = False
    """Grading the reference solution for its robustness curves (grader.pictures.reference): the
    curves it would compare with are the ones being made."""
    phases: dict[str, PhaseOutcome] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    runner: PhaseRunner = run_sandboxed
    """Where each phase's sandbox runs: this machine (run_sandboxed), or a Ray cluster's node
    (grader.cluster.ray_phases.RayPhaseRunner), which ships the folders there and /out back."""
    _mnist: MnistData | None = None

    def mnist(self) -> MnistData:
        if self._mnist is None:
            self._mnist = _mnist_for(self.config)
        return self._mnist

    def secret_rng(self, purpose: str) -> np.random.Generator:
        """A generator seeded from the instructor's secret: students cannot reproduce hidden draws."""
        digest = hmac.new(self.config.secret().encode(), purpose.encode(), hashlib.sha256).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def carried_file(self, phase: str, name: str, what: str) -> Path:
        """A file an earlier phase wrote, checked to be a plain file of sane size before it is passed on;
        `what` names it for the student ("the trained model's weights"), whom its file name would not help."""
        outcome = self.phases[phase]
        path = outcome.out_dir / name
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            # A phase that recorded an error (training raised, say) leaves no file; this escaped
            # as FileNotFoundError and stopped grading. The student's own error says more.
            error = next(iter(outcome.all_raised()), None)
            if error:
                raise ObservationError(f"the {phase} phase failed, so there is nothing to go on with: "
                                       f"{error.raiser(self.assignment.functions)} raised {error.kind} ({SHOWN_ONCE}).") from None
            raise ObservationError(f"{what} are missing: the {phase} phase did not save them") from None
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CARRIED_FILE:
            raise ObservationError(f"{what} from the {phase} phase are not a plain file of at most "
                                   f"{MAX_CARRIED_FILE // 2**20} MiB")
        return path


@functools.lru_cache(maxsize=2)
def _mnist_for(config: Config) -> MnistData:
    # grade-all and the worker grade many submissions in one process: load MNIST (and try
    # Keras's download) once, not once per submission.
    return load_mnist(config)


def grader_version(assignment: Assignment) -> str:
    """Changes whenever the assignment's checks or probe change, so stored results say what graded them."""
    digest = hashlib.sha256()
    for path in (assignment.probe, assignment.probe.with_name("checks.py"), *(PROBE_DIR / f for f in PROBE_FILES)):
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:8]}"


def phase_envelope(phase: Phase, config: Config) -> Envelope:
    """The envelope a phase runs in: Config's defaults, what the phase declares, then the command line's overrides."""
    declared = config.envelope.replace(seconds=phase.seconds, cpus=phase.cpus, memory_bytes=phase.memory_bytes,
                                       gpu=phase.gpu)
    overrides = config.overrides
    return declared.replace(seconds=overrides.seconds, cpus=overrides.cpus, memory_bytes=overrides.memory_bytes,
                            gpu=overrides.gpu if phase.gpu else None)


def unreadable(assignment: Assignment, message: str, *, student: str | None = None,
               self_check: bool = False) -> GradingReport:
    """The report of a submission the reader refused (a syntax error, a damaged zip): every check
    scores zero with the reader's sentence, which says why."""
    checks = [check for check in assignment.checks if not (self_check and check.hidden)]
    return GradingReport(assignment.name, student, [CheckResult.error(c.name, c.points, message, c.hidden)
                                                    for c in checks], grader_version=grader_version(assignment))


def grade_path(path: Path, assignment: Assignment, config: Config, *, student: str | None = None,
               self_check: bool = False, slot: int = 0, reference: bool = False) -> GradingReport:
    """Reads a file or folder through intake and grades it, with no gradebook: the self-check, the
    benchmarks and tests. A path intake or the reader refuses gets every check's zero with the reason."""
    from grader.intake import IntakeError, from_path, load

    try:
        artifact = from_path(path, max_bytes=config.upload_max_bytes)
        submission = load(artifact, max_bytes=config.upload_max_bytes, expected_functions=assignment.functions)
    except ReaderUnavailable:
        raise  # the grader's machine failed, not the upload: never a zero
    except (IntakeError, SubmissionError) as refused:
        return unreadable(assignment, str(refused), student=student, self_check=self_check)
    return grade(submission, assignment, config, student=student, self_check=self_check, slot=slot,
                 reference=reference)


def grade(submission: Submission, assignment: Assignment, config: Config, *, student: str | None = None,
          self_check: bool = False, slot: int = 0, reference: bool = False,
          runner: PhaseRunner | None = None) -> GradingReport:
    """Grades a loaded submission (grader.intake.load). Never raises for anything the submission does.

    `reference`: this is the reference solution, graded for the curves that students' reports
    compare with (GradingContext.reference). `runner`: where the phases' sandboxes run (default:
    this machine); a cluster's runner may raise grader.cluster.NodeLost or PhaseRefused.
    """
    started = time.perf_counter()
    report = GradingReport(assignment.name, student, [], grader_version=grader_version(assignment))
    checks = [check for check in assignment.checks if not (self_check and check.hidden)]
    # The loader (given the assignment's functions) has already noted each missing one, with a hint.
    report.notes += list(submission.notes)
    context = GradingContext(config, assignment, self_check, reference, runner=runner or run_sandboxed)
    context.secrets["imported_modules"] = sorted(submission.imported_modules)
    # Which hidden images rank the public leaderboard and which the private one: drawn on the
    # trusted side with the instructor's secret, the same for every grading, never in the sandbox.
    context.secrets["split_key"] = hmac.new(config.secret().encode(), b"leaderboard split", hashlib.sha256).digest()
    context.secrets["assignment"] = assignment.name
    logs = []
    workdir = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        failed: PhaseOutcome | None = None
        for run_phases in sandbox_runs(assignment.phases, self_check):
            outcomes, run = (), None
            if failed is None:
                outcomes, run = _run_phases(run_phases, submission, context, workdir, slot)
            for phase in run_phases:
                outcome = next((o for o in outcomes if o.name == phase.name), None)
                if outcome is None:
                    # A submission that hangs or crashes once would only do it again, at the cost of every limit.
                    context.phases[phase.name] = PhaseOutcome(
                        phase.name, False, {}, None, f"Not run, because the {failed.name} phase failed:\n{failed.failure}")
                    continue
                if outcome.failure and outcome.ran and failed is None:
                    failed = outcome
                context.phases[phase.name] = outcome
                report.phase_seconds[phase.name] = round(outcome.seconds, 2)
                steps = outcome.observations.get("seconds")
                if isinstance(steps, dict):
                    # abs(v) < 1e9: float() of a JSON integer of hundreds of digits raised OverflowError.
                    report.step_seconds[phase.name] = {str(k): float(v) for k, v in steps.items()
                                                       if isinstance(v, (int, float)) and abs(v) < 1e9}
                if run is not None:
                    # Phases sharing a run share its CPU time and wait in proportion to their wall time.
                    share = outcome.seconds / run.wall_seconds if len(outcomes) > 1 and run.wall_seconds else 1.0
                    report.phase_cpu_seconds[phase.name] = round(run.cpu_seconds * share, 2)
                    report.phase_queued_seconds[phase.name] = round(run.queued_seconds * share, 2)
                device = outcome.observations.get("device")
                if isinstance(device, str) and not report.device:
                    report.device = device[:200]
            if run is not None:
                where = f"; on {run.node}" if run.node else ""
                logs.append(f"== phase {'+'.join(p.name for p in run_phases)}: {run.describe()} ({run.isolation}{where}; cores "
                            f"{','.join(map(str, run.cores))}; {run.cpu_seconds:.1f} s CPU; waited "
                            f"{run.queued_seconds:.1f} s for its cores)\n{run.output}")
                if run.isolation != "bubblewrap" and not any("isolation is weak" in n for n in report.notes):
                    report.notes.append("Warning: bubblewrap is not available, so isolation is weak "
                                        "(a plain subprocess with resource limits).")
                for weakness in run.weaknesses:
                    note = f"Warning: the resource envelope is weak on this grading machine: {weakness}."
                    if note not in report.notes:
                        report.notes.append(note)
        # In the assignment's order (the self-check's skipped phases too): notes list errors phase by phase.
        context.phases = {phase.name: context.phases.get(phase.name, PhaseOutcome(phase.name, False, {}, None))
                          for phase in assignment.phases}
        evidence = Evidence(context.phases, context.secrets, assignment.functions)
        # Each error the student's code raised, once and first; the checks it stopped say so in one
        # line. The same exception in several steps or phases (each phase builds the model) is one.
        raised: dict[tuple[str, str, str], str | None] = {}
        for outcome in context.phases.values():
            for error in [] if outcome.failure else outcome.all_raised():
                raised.setdefault((error.raiser(assignment.functions), error.kind, error.message),
                                  error.note(assignment.functions))
        report.notes[:0] = [note for note in raised.values() if note][:MAX_ERROR_NOTES]
        for check in checks:
            report.checks.append(_score(check, evidence, logs))
        report.figures = _figures(assignment, evidence, logs)
        curves = report.figures.curves
        if curves is not None and curves.train_size and curves.validation_size:
            whole = curves.train_size + curves.validation_size
            report.notes.append(f"Trained with the course recipe on {curves.train_size:,} of the {whole:,} public "
                                f"digits: a fixed {curves.validation_size / whole:.0%} ({curves.validation_size:,}) "
                                "is held out for the report's validation curves.")
    finally:
        for phase_dir in workdir.iterdir():
            release_output_folder(phase_dir / "out")  # unmounts it first where it is a file system
        _remove_tree(workdir)
    if report.device:
        report.notes.append(f"Graded on {report.device}.")
    report.instructor_log = "\n".join(logs)[-200_000:]
    report.execution_seconds = time.perf_counter() - started
    return report


def _remove_tree(top: Path) -> None:
    """Deletes the grading folder in time linear in its entries, whatever the sandbox left in /out.

    A phase can nest folders thousands deep in /out: TemporaryDirectory's shutil.rmtree recursed
    once per level and raised RecursionError (grading stopped, the tree stayed in /tmp). Here
    every folder's subfolders are first moved up into `top`, so no path is longer than
    top/name/name and nothing recurses; symbolic links are removed, never followed.
    """
    pending, moved = [top], 0
    try:
        while pending:
            directory = pending.pop()
            os.chmod(directory, 0o700)  # without root, the sandbox may have left it unreadable
            with os.scandir(directory) as entries:
                for entry in entries:
                    if not entry.is_dir(follow_symlinks=False):
                        os.unlink(entry.path)
                    elif directory == top:
                        pending.append(Path(entry.path))
                    else:
                        moved += 1
                        pending.append(top / f".removing-{moved}")
                        os.rename(entry.path, pending[-1])
            if directory != top:
                os.rmdir(directory)
        os.rmdir(top)
    except OSError as error:
        log.error("could not remove the grading folder %s: %s", top, error)


def _figures(assignment: Assignment, evidence: Evidence, logs: list[str]) -> Figures:
    """The report's figures, read while the phases' folders still exist; a grader bug here costs
    the pictures, never the grade."""
    try:
        return collect_figures(assignment, evidence)
    except Exception:  # the outermost boundary of the report: recorded for staff
        logs.append(f"== the report's figures failed inside the grader\n{traceback.format_exc()}")
        return Figures(missing={"report": "The grader could not draw this report; the course staff have the details."})


def _score(check, evidence: Evidence, logs: list[str]) -> CheckResult:
    for phase in check.needs:
        outcome = evidence.phases.get(phase)
        if outcome is not None and outcome.failure:
            return CheckResult.error(check.name, check.points, outcome.failure, check.hidden)
    try:
        verdict = check.run(evidence)
    except (NotObserved, ObservationError) as missing:
        # ObservationError too: its message is written to be shown (a symlinked or pickled output
        # said "The grader could not evaluate this check", which blamed the grader).
        return CheckResult.error(check.name, check.points, str(missing), check.hidden)
    except Exception:  # a grader bug or malformed observations: zero for now, details for staff
        logs.append(f"== check {check.name} failed inside the grader\n{traceback.format_exc()}")
        return CheckResult.error(check.name, check.points, "The grader could not evaluate this check on your "
                                 "code's output; the course staff have the details.", check.hidden)
    return CheckResult.scored(check.name, check.points, verdict.fraction, verdict.message, check.hidden,
                              verdict.measures)


def sandbox_runs(phases: tuple[Phase, ...], self_check: bool) -> list[tuple[Phase, ...]]:
    """The phases to run, grouped by the sandbox run they share, in order: a phase that joins_previous
    runs in the run of the phase before it. The self-check runs no hidden phase, and a phase whose
    predecessor it skipped runs alone."""
    runs: list[tuple[Phase, ...]] = []
    previous_runs = False
    for phase in phases:
        if self_check and phase.hidden:
            previous_runs = False
            continue
        if phase.joins_previous and previous_runs:
            runs[-1] += (phase,)
        else:
            runs.append((phase,))
        previous_runs = True
    return runs


def shared_envelope(envelopes: list[Envelope]) -> Envelope:
    """One envelope for phases that share a run: the most cores, memory and GPU any of them asks for,
    and the sum of their CPU-time budgets spread over those cores."""
    if len(envelopes) == 1:
        return envelopes[0]
    cpus = max(e.cpus for e in envelopes)
    return envelopes[-1].replace(cpus=cpus, seconds=sum(e.cpu_seconds for e in envelopes) / cpus,
                                 memory_bytes=max(e.memory_bytes for e in envelopes),
                                 gpu=max(e.gpu for e in envelopes))


def _run_phases(phases: tuple[Phase, ...], submission: Submission, context: GradingContext, workdir: Path,
                slot: int) -> tuple[list[PhaseOutcome], SandboxRun | None]:
    """Runs `phases` one after the other in one sandbox run. The outcomes stop at the first phase that
    failed or could not start: the phases after it in the run are not graded (grade says why)."""
    config = context.config
    envelope = shared_envelope([phase_envelope(phase, config) for phase in phases])
    root = workdir / "+".join(phase.name for phase in phases)
    dirs = {name: root / name for name in ("submission", "inputs", "probe", "out")}
    for directory in dirs.values():
        directory.mkdir(parents=True)
    # A file system of its own, so that everything written there counts against the limit, files
    # deleted while still open included; it stays mounted until grading ends (checks read it).
    make_output_folder(dirs["out"], envelope)
    write_for_sandbox(submission, dirs["submission"])
    for name in PROBE_FILES:
        shutil.copy(PROBE_DIR / name, dirs["probe"] / name)
    shutil.copy(context.assignment.probe, dirs["probe"] / "assignment_probe.py")
    if fonts := font_list(config, PROBE_DIR / "fonts.conf"):
        (dirs["probe"] / "matplotlib").mkdir()
        shutil.copy(fonts, dirs["probe"] / "matplotlib" / fonts.name)
    # One phase reads /inputs and writes /out; several, a subfolder each (grader/probe/driver.py).
    folders = {phase.name: (dirs["inputs"], dirs["out"]) if len(phases) == 1
               else (dirs["inputs"] / phase.name, dirs["out"] / phase.name) for phase in phases}
    for phase in phases:
        inputs_dir, out_dir = folders[phase.name]
        inputs_dir.mkdir(exist_ok=True)
        out_dir.mkdir(exist_ok=True)
        try:
            files = phase.inputs(context) if phase.inputs else {}
        except ObservationError as error:
            failure = f"The {phase.name} phase could not start: {error}"
            earlier = [PhaseOutcome(p.name, False, {}, None, f"Not run, because the {phase.name} phase, which "
                                    f"shares its sandbox, could not start: {error}") for p in phases[:phases.index(phase)]]
            return [*earlier, PhaseOutcome(phase.name, True, {}, None, failure)], None
        _write_inputs(files, inputs_dir)

    run = context.runner(
        [config.sandbox_python, "/probe/driver.py", *(phase.name for phase in phases)],
        ro_binds={dirs["submission"]: "/submission", dirs["inputs"]: "/inputs", dirs["probe"]: "/probe"},
        rw_binds={dirs["out"]: "/out"},
        envelope=envelope, env=config.sandbox_env(), slot=slot, use_bubblewrap=config.use_bubblewrap,
        cores=config.cores,
    )
    outcomes = []
    for phase in phases:
        out_dir = folders[phase.name][1]
        outcome = _read_outcome(phase, run, out_dir, submission, phases)
        outcomes.append(outcome)
        if outcome.failure:
            break
    if run.status in ("timeout", "memory", "disk"):
        # Stopped in the first phase without observations, or after the last wrote its own.
        outcomes[-1].failure = _phase_failure(phases[len(outcomes) - 1], run, None, phases)
    _share_wall_time(outcomes, run.wall_seconds)
    return outcomes, run


def _read_outcome(phase: Phase, run: SandboxRun, out_dir: Path, submission: Submission,
                  phases: tuple[Phase, ...]) -> PhaseOutcome:
    """What `phase`, one of the run's `phases`, left in `out_dir`."""
    outcome = PhaseOutcome(phase.name, True, {}, out_dir)
    try:
        # A subfolder of /out (a shared run), which the sandbox could have swapped for a symbolic
        # link to a folder of the host.
        if len(phases) > 1 and not stat.S_ISDIR(os.lstat(out_dir).st_mode):
            outcome.failure = (f"Your code replaced the folder of the {phase.name} phase's results (/out/{phase.name}) "
                               "with a symbolic link or a file; the grader reads only the folder it made.")
            return outcome
        observations = read_json(out_dir, "observations.json", what=RECORD_OF_THE_PHASE)
        if not isinstance(observations, dict):
            raise ObservationError(f"{RECORD_OF_THE_PHASE} is not a JSON object")
        outcome.observations = observations
        # What every probe writes, of the wrong types, makes the whole phase unusable: each check
        # that needs it scores zero with this message instead of raising inside the grader.
        if problem := common_keys_problem(observations):
            outcome.failure = problem
        else:
            for error in observations.get("errors", {}).values():
                if "traceback" in error:  # the sandbox named lines of the combined module
                    error["traceback"] = submission.student_traceback(error["traceback"])
    except FileNotFoundError:
        outcome.failure = _phase_failure(phase, run, f"the folder of the {phase.name} phase's results is gone", phases)
    except ObservationError as error:
        outcome.failure = _phase_failure(phase, run, str(error), phases)
    return outcome


def _share_wall_time(outcomes: list[PhaseOutcome], wall_seconds: float) -> None:
    """Each phase's seconds, from the run's wall time: a later phase of a shared run gets the time the
    probe measured for it (bounded by what is left), the first one the rest, start-up included."""
    left = wall_seconds
    for outcome in outcomes[1:]:
        measured = outcome.observations.get("wall_seconds")
        usable = isinstance(measured, (int, float)) and math.isfinite(measured) and measured > 0
        outcome.seconds = min(float(measured), left) if usable else 0.0
        left -= outcome.seconds
    outcomes[0].seconds = left


def _phase_failure(phase: Phase, run: SandboxRun, detail: str | None, phases: tuple[Phase, ...] = ()) -> str:
    """Why `phase` gave nothing usable, for the student; `phases`: all that shared its run (and its limits)."""
    envelope = run.envelope
    cores = f"{envelope.cpus} core{'s' if envelope.cpus != 1 else ''}"
    budget = "its time budget"
    if len(phases) > 1:
        budget = f"the time budget that the {' and '.join(p.name for p in phases)} phases share"
    if run.status == "timeout" and run.time_limit == "wall":
        why = (f"Your code did not finish the {phase.name} phase within the wall-clock cap of "
               f"{run.wall_cap_seconds:.0f} s, though it used only {run.cpu_seconds:.0f} of its "
               f"{envelope.cpu_seconds:g} s of CPU time. Likely cause: it waits instead of computing "
               "(sleep, input(), a lock or a child process that never ends, a stopped process).")
    elif run.status == "timeout":
        why = (f"Your code did not finish the {phase.name} phase within {budget} of {envelope.seconds:g} s "
               f"on {cores} ({envelope.cpu_seconds:g} s of CPU time; waiting for the cores is not counted). "
               "Likely cause: an endless loop, or training far longer than the recipe.")
    elif run.status == "memory":
        why = (f"Your code used more than {size_text(envelope.memory_bytes)} of memory in the {phase.name} phase "
               "(everything it holds counts: its processes, files in /tmp and /out, shared memory). "
               "Likely cause: a huge layer (check Dense sizes after Flatten), keeping many copies of the data, "
               "or large files in /tmp.")
    elif run.status == "disk":
        where = run.disk_full or "its output folder"
        why = (f"Your code filled {where} past its limit of {size_text(envelope.disk_bytes)} or "
               f"{envelope.disk_files:,} files in the {phase.name} phase (files deleted while still open count "
               "too). Likely cause: saving arrays or checkpoints in a loop.")
    elif run.status == "ok":
        why = (f"Your code ended the {phase.name} phase without results ({detail.rstrip('.')}). "
               "Likely cause: calling sys.exit() or os._exit() at import time.")
    else:
        why = f"The {phase.name} phase {run.describe()} before the grader got results."
    tail = run.output[-OUTPUT_TAIL:].strip()
    return why + (f"\nLast output:\n{tail}" if tail else "")


def _write_inputs(files: dict, inputs_dir: Path) -> None:
    for name, value in files.items():
        if name == "args":
            (inputs_dir / "args.json").write_text(json.dumps(value))
        elif isinstance(value, Path):
            shutil.copy(value, inputs_dir / value.name)
        else:
            np.save(inputs_dir / f"{name}.npy", np.asarray(value), allow_pickle=False)
