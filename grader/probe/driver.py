"""Sandbox entry point: imports the student's module, runs probe phases in turn, writes their observations.json.

Runs inside the sandbox with only the standard library and what the student may
use (NumPy, Keras). Everything it writes is plain data that the trusted side
validates again; nothing here is trusted.
"""

import atexit
import contextlib
import importlib
import importlib.abc
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

SUBMISSION_MODULE = "submission"
UNUSED_FRAMEWORKS = {"tensorflow": ("jax", "jaxlib")}
"""Per Keras backend, frameworks that Keras and the backend's framework are refused: TensorFlow
(tf.lite) and Keras (its Orbax callback) import jax wherever it is installed, for nothing a
grading uses, 0.3-0.4 s of every import of Keras. The student's own imports of them work as ever."""


def sandbox_dir(name: str) -> Path:
    """/submission, /inputs, /out ... or, in the weaker rlimits mode, the host folder the runner names."""
    return Path(os.environ.get(f"SANDBOX_{name.upper()}", f"/{name}"))


class Probe:
    """What a phase function gets: the student's module, the inputs, and ways to record observations."""

    def __init__(self, student, inputs: Path, out: Path, args: dict):
        self.student = student
        self.inputs = inputs
        self.out = out
        self.args = args
        self.observations: dict = {"errors": {}, "seconds": {}}

    def record(self, key: str, value) -> None:
        self.observations[key] = value

    def save_array(self, name: str, array) -> None:
        import numpy as np

        np.save(self.out / f"{name}.npy", np.asarray(array), allow_pickle=False)

    def load_array(self, name: str):
        import numpy as np

        return np.load(self.inputs / f"{name}.npy", allow_pickle=False)

    @contextlib.contextmanager
    def step(self, name: str):
        """Runs one step of the probe; an exception in the student's code is recorded, not fatal."""
        start = time.perf_counter()
        try:
            yield
        except MemoryError:
            self.observations["errors"][name] = {"type": "MemoryError", "message": "ran out of memory", "traceback": ""}
        except Exception as error:  # the student's bug: record it for the feedback, go on with other steps
            self.observations["errors"][name] = describe_exception(error)
        finally:
            self.observations["seconds"][name] = round(time.perf_counter() - start, 3)

    def failed(self, name: str) -> bool:
        return name in self.observations["errors"]


def describe_exception(error: BaseException) -> dict:
    frames = traceback.extract_tb(error.__traceback__)
    # Show the student the frames of their own file (and Keras's last line), not the probe's.
    own = [f for f in frames if f.filename.endswith(f"{SUBMISSION_MODULE}.py")] or frames[-1:]
    lines = traceback.format_list(own[-4:])
    return {
        "type": type(error).__name__,
        "message": str(error)[:2000],
        "traceback": "".join(lines)[-3000:],
    }


def main(phases: list[str]) -> int:
    """Runs `phases` in order in this one process. One phase reads /inputs and writes /out; several
    (build and train in a full grading: one interpreter start and Keras import instead of two) each
    read and write their own subfolder, /inputs/<phase> and /out/<phase>."""
    inputs, out, submission = sandbox_dir("inputs"), sandbox_dir("out"), sandbox_dir("submission")
    # fonts.conf: an empty fontconfig configuration, so that matplotlib (which Keras imports) finds
    # one and fc-list writes no error into the output a student may read.
    os.environ["FONTCONFIG_FILE"] = str(sandbox_dir("probe") / "fonts.conf")
    use_font_list(sandbox_dir("probe") / "matplotlib")
    hide_frameworks(os.environ.get("KERAS_BACKEND", "tensorflow"))
    sys.path.insert(0, str(sandbox_dir("probe")))
    sys.path.insert(0, str(submission))
    import assignment_probe  # the assignment's probe, copied beside this file
    from device import share_the_gpu

    share_the_gpu()

    imported = Probe(None, inputs, out, {})
    started = time.time()
    with imported.step("import"):
        imported.student = importlib.import_module(SUBMISSION_MODULE)
    for phase in phases:
        phase_inputs, phase_out = (inputs, out) if len(phases) == 1 else (inputs / phase, out / phase)
        args_file = phase_inputs / "args.json"
        args = json.loads(args_file.read_text()) if args_file.exists() else {}
        probe = Probe(imported.student, phase_inputs, phase_out, args)
        # Each phase's record says how the import went: an import error stops every phase.
        probe.observations["errors"] |= imported.observations["errors"]
        if phase == phases[0]:
            probe.observations["seconds"] |= imported.observations["seconds"]
        else:
            fresh_state()
        if probe.student is not None:
            assignment_probe.PHASES[phase](probe)
        probe.record("phase", phase)
        probe.record("wall_seconds", round(time.time() - started, 3))
        started = time.time()
        # Written last and atomically: the trusted side treats a missing file as "no result".
        tmp = phase_out / "observations.json.tmp"
        tmp.write_text(json.dumps(probe.observations, default=repr))
        tmp.replace(phase_out / "observations.json")
    return 0


def use_font_list(folder: Path) -> None:
    """Points matplotlib at the font list the grader built once (grader/fontcache.py), copied into a
    folder of this sandbox's own /tmp (matplotlib wants its cache folder writable); without one,
    matplotlib builds the list itself at import, as Keras imports it."""
    lists = sorted(folder.glob("fontlist-*.json"))
    if lists:
        cache = Path(tempfile.mkdtemp(prefix="matplotlib-"))
        shutil.copy(lists[-1], cache)
        os.environ["MPLCONFIGDIR"] = str(cache)


class HiddenFrameworks(importlib.abc.MetaPathFinder):
    """Refuses these top-level packages to Keras and the backend's framework, as if they were not
    installed: TensorFlow's optional `from jax import jit` fails and TensorFlow goes on without it.
    Anyone else's import (the student's, or jax's own submodules) is found as usual."""

    def __init__(self, backend: str, names: tuple[str, ...]):
        self.backend = backend
        self.refused_to = frozenset((backend, "keras"))
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names and importer(sys._getframe(1)) in self.refused_to:
            raise ModuleNotFoundError(f"No module named {fullname!r} for {self.backend} in the grader's sandbox",
                                      name=fullname)
        return None


def importer(frame) -> str:
    """The top-level package of the code whose import statement is running, past importlib's frames."""
    while frame is not None and frame.f_globals.get("__name__", "").startswith(("importlib", "_frozen_importlib")):
        frame = frame.f_back
    return "" if frame is None else str(frame.f_globals.get("__name__", "")).partition(".")[0]


def hide_frameworks(backend: str) -> None:
    names = UNUSED_FRAMEWORKS.get(backend, ())
    if names:
        sys.meta_path.insert(0, HiddenFrameworks(backend, names))


def fresh_state() -> None:
    """Between two phases in one process: Keras's global state (layer name counters, the seed
    generator, cached graphs) as a fresh interpreter has it, so the second phase builds the model
    as it would alone. Keras is not imported here for code that did not import it (NumPy-only)."""
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()


if __name__ == "__main__":
    status = main(sys.argv[1:])
    # Every result is written and closed. The atexit handlers run as at a normal exit (the
    # student's too: what they do to /out after the probe is read as it would be), but the
    # interpreter's finalization is skipped: after TensorFlow trained it takes 0.7 s of each run.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
