"""Reads what the train and predict phases wrote for the report: curves, kernels, feature maps, robustness."""

from __future__ import annotations

import numpy as np

from grader.assignment import Assignment, Evidence, PhaseOutcome, common_keys_problem, is_number
from grader.checks import NotObserved
from grader.pictures import robustness
from grader.pictures.figures import FeatureMaps, LearningCurves, RobustnessCurve
from grader.probe.keras_probe import (HISTORY_KEYS, KERNEL_INPUTS, KERNEL_SIDE, KERNELS, MAX_EPOCHS, REPORT_LAYERS,
                                      REPORT_MAPS, REPORT_SIDE)
from grader.sandbox.observations import ObservationError, read_array

MAX_CLASSES = 100
"""Columns of the robustness predictions, at most (the course's models have 10)."""
MAX_MAPS = 10**6
"""Maps a layer may claim to have, at most (the report shows the first REPORT_MAPS)."""
MAX_DIGITS = 10**7
"""Training or validation digits a record may claim, at most (full MNIST has 60,000)."""
FLOAT16_MAX = 65_000.0
"""Feature maps and kernels are stored as float16: larger values are clipped to this, not made infinite."""
NOT_TRAINED = "this assignment builds the network without training it"
SELF_CHECK = "the self-check does not train your network; the report of your graded submission shows this"
NO_RESULTS = "the {phase} phase did not give results (the checks above say why)"


def _phase(assignment: Assignment, evidence: Evidence, name: str) -> PhaseOutcome | None:
    """The phase's outcome when it gave results; None where the assignment has no such phase and
    shows no network (conv_ops); NotObserved with the reason otherwise."""
    if all(phase.name != name for phase in assignment.phases):
        if assignment.expected_layers:
            raise NotObserved(NOT_TRAINED)
        return None
    outcome = evidence.phases.get(name)
    if outcome is None or not outcome.ran:
        raise NotObserved(SELF_CHECK)
    if outcome.failure:
        raise NotObserved(NO_RESULTS.format(phase=name))
    if problem := common_keys_problem(outcome.observations):
        raise NotObserved(problem)
    errors = outcome.all_raised()
    if errors:
        doing = "training" if errors[0].step == "train" else errors[0].raiser(evidence.functions)
        raise NotObserved(f"{doing} raised an error (shown at the top)")
    return outcome


def _problem(outcome: PhaseOutcome, step: str) -> str | None:
    """Why the probe could not record one of the report's views (its exception in a few words), or None."""
    problems = outcome.observations.get("report_problems")
    problem = problems.get(step) if isinstance(problems, dict) else None
    return problem[:300] if isinstance(problem, str) else None


def _read(outcome: PhaseOutcome, name: str, what: str, shape: tuple, max_bytes: int, kinds: str = "f") -> np.ndarray:
    """The array the probe saved as `name`, checked; NotObserved naming `what` in the student's words."""
    try:
        return read_array(outcome.out_dir, name, dtype_kind=kinds, shape=shape, max_bytes=max_bytes)
    except ObservationError:
        raise _untrusted(what, f"expected an array of numbers of shape {_shape_text(shape)}, at most "
                               f"{max_bytes // 1024:,} KiB") from None


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("any" if size is None else str(size) for size in shape) + ")"


def _untrusted(what: str, problem: str) -> NotObserved:
    return NotObserved(f"the grader's record of {what} is not usable ({problem}); let the grader's probe "
                       "record it unchanged")


def learning_curves(assignment: Assignment, evidence: Evidence) -> dict | None:
    """Loss and accuracy per epoch, training and validation, with the sizes of the two sets."""
    outcome = _phase(assignment, evidence, "train")
    if outcome is None:
        return None
    history = outcome.observations.get("history")
    if history is None:
        raise NotObserved("the grader got no per-epoch history of your training (it records the history "
                          "that Keras's model.fit keeps)")
    if not isinstance(history, dict) or not isinstance(history.get("loss"), list):
        raise _untrusted("your training's history", "expected the loss of every epoch")
    epochs = len(history["loss"])
    values = {}
    for key in HISTORY_KEYS:
        series = history.get(key, [])
        if not isinstance(series, list) or len(series) not in (0, epochs) or epochs > MAX_EPOCHS or not all(
                is_number(v) or isinstance(v, float) for v in series):
            raise _untrusted("your training's history", f"expected {epochs} numbers per curve")
        values[key] = tuple(float(v) for v in series)
    sizes = {key: outcome.observations.get(key) for key in ("train_size", "validation_size")}
    for key, size in sizes.items():
        if size is not None and not (isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= MAX_DIGITS):
            raise _untrusted("how many digits were trained on", "expected a count of digits")
    return {"curves": LearningCurves(**values, train_size=sizes["train_size"],
                                     validation_size=sizes["validation_size"] or None)}


def kernels(assignment: Assignment, evidence: Evidence) -> dict | None:
    """The first convolution's trained kernels, (height, width, inputs, kernels), cropped as the probe did."""
    outcome = _phase(assignment, evidence, "predict")
    if outcome is None:
        return None
    if problem := _problem(outcome, "kernels"):
        raise NotObserved(f"reading your first convolution's kernels failed: {problem}")
    described = outcome.observations.get("kernel_layer", "absent")
    if described is None:
        raise NotObserved("the model has no convolution")
    if not isinstance(described, dict) or not isinstance(described.get("name"), str):
        raise _untrusted("your first convolution", "expected its name")
    values = _read(outcome, "kernels.npy", "your first convolution's kernels", shape=(None,) * 4,
                   max_bytes=KERNEL_SIDE ** 2 * KERNEL_INPUTS * KERNELS * 8 + 256)
    bounds = (KERNEL_SIDE, KERNEL_SIDE, KERNEL_INPUTS, KERNELS)
    if values.size == 0 or any(size > bound for size, bound in zip(values.shape, bounds)):
        raise _untrusted("your first convolution's kernels", f"shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise NotObserved(f"the kernels of '{described['name'][:80]}' hold NaN or infinity: training diverged")
    return {"kernel_layer": described["name"][:120], "kernels": np.clip(values, -FLOAT16_MAX, FLOAT16_MAX)}


def feature_maps(assignment: Assignment, evidence: Evidence) -> dict | None:
    """Each convolution and pooling layer's activations for the report's digit and that digit shifted."""
    outcome = _phase(assignment, evidence, "predict")
    digits = evidence.secrets.get("report_digits")
    if outcome is None or digits is None:
        return None
    if problem := _problem(outcome, "feature_maps"):
        raise NotObserved(f"reading your layers' feature maps failed: {problem}")
    described = outcome.observations.get("feature_maps")
    if not isinstance(described, list) or len(described) > REPORT_LAYERS or not all(
            isinstance(d, dict) and isinstance(d.get("layer"), str) and isinstance(d.get("kind"), str)
            and isinstance(d.get("maps"), int) and not isinstance(d.get("maps"), bool) and 0 < d["maps"] <= MAX_MAPS
            for d in described):
        raise _untrusted("your layers' feature maps", f"expected at most {REPORT_LAYERS} layers, each named")
    if not described:
        raise NotObserved("the model has no convolution or pooling layer")
    maps = []
    for index, layer in enumerate(described):
        values = _read(outcome, f"feature_maps_{index}.npy", f"the feature maps of '{layer['layer'][:80]}'",
                       shape=(2, None, None, None), max_bytes=2 * REPORT_SIDE ** 2 * REPORT_MAPS * 8 + 256)
        if values.size == 0 or max(values.shape[1:3]) > REPORT_SIDE or values.shape[3] > min(REPORT_MAPS, layer["maps"]):
            raise _untrusted(f"the feature maps of '{layer['layer'][:80]}'", f"shape {values.shape}")
        values = np.clip(values, -FLOAT16_MAX, FLOAT16_MAX)
        maps.append(FeatureMaps(layer["layer"][:120], layer["kind"][:80], values[0], values[1], layer["maps"]))
    return {"digit": digits, "shift_pixels": tuple(evidence.secrets["report_shift"]), "feature_maps": tuple(maps)}


def robustness_curves(assignment: Assignment, evidence: Evidence) -> tuple[RobustnessCurve, ...] | None:
    """Accuracy on the shifted, rotated and noisy hidden digits, scored here with labels the sandbox
    never saw; None where no such digits were sent (a self-check, the adder)."""
    plan = evidence.secrets.get("robustness")
    if plan is None:
        return None
    outcome = _phase(assignment, evidence, "predict")
    if problem := _problem(outcome, "robustness"):
        raise NotObserved(f"your model raised an error on the shifted, rotated and noisy digits: {problem}")
    predictions = _read(outcome, "robustness_predictions.npy", "your model's predictions on the shifted, rotated "
                        "and noisy digits", shape=(plan.size, None), max_bytes=plan.size * MAX_CLASSES * 8 + 256,
                        kinds="fiu")
    if predictions.shape[1] > MAX_CLASSES or predictions.shape[1] == 0:
        raise NotObserved(f"your model gave {predictions.shape[1]} numbers per digit; expected one per class")
    if not np.all(np.isfinite(predictions)):
        raise NotObserved("your model's predictions on the shifted, rotated and noisy digits contain NaN or infinity")
    return robustness.curves(plan, predictions)


def robustness_figure(assignment: Assignment, evidence: Evidence) -> dict | None:
    curves = robustness_curves(assignment, evidence)
    return None if curves is None else {"robustness": curves}


def reference_robustness(assignment: Assignment, evidence: Evidence) -> dict | None:
    """The reference model's curves on the same digits (grader.pictures.reference), or why there are none."""
    found = evidence.secrets.get("reference_robustness")
    if found is None:
        return None
    if not found.curves:
        raise NotObserved(found.missing or "the reference model's curves are not available")
    return {"reference_robustness": found.curves}
