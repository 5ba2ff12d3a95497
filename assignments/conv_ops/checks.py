"""Assignment 1 (conv_ops): the cases the grader feeds the student's functions, and the checks' points."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.assignment import (TAMPERED, Assignment, Check, Evidence, Phase, PhaseOutcome, RaisedError, Verdict,
                              describe_json)
from grader.checks import OBJECT, STRING, Kind, NotObserved, entry, list_of, observed, require
from grader.pictures.figures import Difference
from grader.sandbox.observations import ObservationError, read_array
from reference import conv_ops as ref

FRAMEWORKS = ("tensorflow", "keras", "torch", "jax", "scipy")
RTOL, ATOL = 1e-5, 1e-6  # float64 NumPy against float64 NumPy: only summation order differs


@dataclass
class Case:
    """One call of a student function with the grader's inputs, and the reference's answer."""

    id: str
    function: str
    arrays: dict[str, np.ndarray]
    kwargs: dict = field(default_factory=dict)
    args: list = field(default_factory=list)
    expected: object = None
    """An array, a number, or ValueError when the call must raise it."""
    flipped: object = None
    """What a kernel-flipping (true convolution) conv2d would return, to name that mistake."""


def _call_reference(case: Case) -> Case:
    function = getattr(ref, case.function)
    try:
        case.expected = function(*case.arrays.values(), *case.args, **case.kwargs)
    except ValueError:
        case.expected = ValueError
    if case.function == "conv2d":
        x, w, *rest = case.arrays.values()
        case.flipped = ref.conv2d(x, w[::-1, ::-1], *rest, **case.kwargs)
    return case


def _image(rows) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)[None, :, :, None]


def _kernel(rows) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)[:, :, None, None]


EX1_X = [[2, 10, 8], [5, 15, 20], [6, 11, 9]]
EX1_W = [[1, 8], [-5, 6]]
EX2_X = [[1, 1, 1, 1, 1], [-1, 0, -3, 0, 1], [2, 1, 1, -1, 0], [0, -1, 1, 2, 1], [1, 2, 1, 1, 1]]
EX2_W = [[1, 0, 0], [0, 0, 0], [0, 0, -1]]
EX3_X = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
X_KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
EX3B_X6 = [[18, 54, 51, 239, 244, 188], [55, 121, 75, 78, 95, 88], [35, 24, 204, 113, 109, 221],
           [3, 154, 104, 235, 25, 130], [15, 253, 225, 159, 78, 233], [68, 85, 180, 214, 245, 0]]
EX4_X = [[1, 1, 2, 0], [0, 1, 1, 2], [0, 0, 1, 3], [0, 0, 1, 1]]


def course_cases() -> list[Case]:
    """COURSE.md's worked examples: the numbers students can check by hand."""
    cases = [
        Case("example1_xcorr", "conv2d", {"x": _image(EX1_X), "w": _kernel(EX1_W)}),
        Case("example2_xcorr", "conv2d", {"x": _image(EX2_X), "w": _kernel(EX2_W)}),
        Case("example3_x_kernel", "conv2d", {"x": _image(EX3_X), "w": _kernel(X_KERNEL)}),
        Case("example3b_grey", "conv2d", {"x": _image([r[:5] for r in EX3B_X6[:5]]), "w": _kernel(X_KERNEL)}),
        Case("example3b_padded", "conv2d", {"x": _image(EX3B_X6), "w": _kernel(X_KERNEL)}, {"padding": 1}),
        Case("example1_true_conv", "convolve2d", {"x": np.array(EX1_X, float), "k": np.array(EX1_W, float)}),
        Case("example2_true_conv", "convolve2d", {"x": np.array(EX2_X, float), "k": np.array(EX2_W, float)}),
        Case("example4_max_pool", "max_pool2d", {"x": _image(EX4_X)}, {"pool_size": 2, "stride": 2}),
        Case("average_of_2_and_10", "avg_pool2d", {"x": np.array([2.0, 10.0]).reshape(1, 1, 2, 1)},
             {"pool_size": (1, 2)}),
        Case("max_of_1_5_3", "max_pool2d", {"x": np.array([1.0, 5.0, 3.0]).reshape(1, 1, 3, 1)},
             {"pool_size": (1, 3)}),
    ]
    sizes = [(7, 3, 0, 1), (7, 3, 0, 2), (7, 3, 1, 1), (32, 5, 2, 1), (28, 5, 2, 1), (5, 3, 2, 1), (9, 5, 2, 1)]
    cases += [Case(f"output_size_{n}_{f}_{p}_{s}", "output_size", {}, args=[n, f, p, s]) for n, f, p, s in sizes]
    cases += [Case(f"output_size_invalid_{n}_{f}_{p}_{s}", "output_size", {}, args=[n, f, p, s])
              for n, f, p, s in [(7, 3, 0, 3), (10, 3, 0, 2), (6, 4, 0, 4)]]
    cases += [Case(f"param_count_{f}_{d}_{k}_{b}", "conv_param_count", {}, args=[f, d, k], kwargs={"bias": b})
              for f, d, k, b in [(5, 3, 10, True), (3, 64, 128, True), (1000, 1, 1, False), (10, 1, 100, False)]]
    return cases


def random_conv_cases(rng: np.random.Generator, prefix: str, count_per_kind: int) -> list[Case]:
    """conv2d on random shapes, one group per option, so feedback can say which option is wrong."""
    cases = []
    kinds = {
        "stride_padding": lambda: {"stride": int(rng.integers(1, 4)), "padding": int(rng.integers(0, 3))},
        "pairs": lambda: {"stride": (int(rng.integers(1, 3)), int(rng.integers(1, 4))),
                          "padding": (int(rng.integers(0, 3)), int(rng.integers(0, 2)))},
        "same": lambda: {"padding": "same", "stride": int(rng.integers(1, 3))},
        "dilation": lambda: {"dilation": int(rng.integers(2, 4)), "padding": int(rng.integers(0, 3))},
        "groups": lambda: {"groups": int(rng.choice([2, 3])), "padding": "same"},
        "bias": lambda: {"padding": "valid"},
    }
    for kind, kwargs_of in kinds.items():
        for i in range(count_per_kind):
            kwargs = kwargs_of()
            groups = kwargs.get("groups", 1)
            c_in, c_out = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
            kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
            h, w = int(rng.integers(kh * 3, 14)), int(rng.integers(kw * 3, 14))
            arrays = {"x": rng.normal(size=(int(rng.integers(1, 3)), h, w, c_in)),
                      "w": rng.normal(size=(kh, kw, c_in // groups, c_out))}
            if kind == "bias":
                arrays["b"] = rng.normal(size=c_out)
            cases.append(Case(f"{prefix}_{kind}_{i}", "conv2d", arrays, kwargs))
    for i in range(count_per_kind):
        size, stride = int(rng.integers(2, 4)), int(rng.integers(1, 4))
        x = rng.normal(size=(2, int(rng.integers(8, 13)), int(rng.integers(8, 13)), 3))
        cases.append(Case(f"{prefix}_max_pool_{i}", "max_pool2d", {"x": x}, {"pool_size": size, "stride": stride}))
        cases.append(Case(f"{prefix}_avg_pool_{i}", "avg_pool2d", {"x": x}, {"pool_size": size, "stride": stride}))
        cases.append(Case(f"{prefix}_true_conv_{i}", "convolve2d",
                          {"x": rng.normal(size=(9, 11)), "k": rng.normal(size=(3, int(rng.integers(2, 5))))}))
    return cases


def build_cases(secret_rng: np.random.Generator | None) -> list[Case]:
    """Public cases use a fixed seed (students can rerun them); hidden ones a secret seed."""
    cases = course_cases() + random_conv_cases(np.random.default_rng(7), "public", 3)
    if secret_rng is not None:
        cases += random_conv_cases(secret_rng, "hidden", 2)
    return [_call_reference(case) for case in cases]


def inputs(context) -> dict:
    cases = build_cases(None if context.self_check else context.secret_rng("conv_ops"))
    context.secrets["cases"] = {case.id: case for case in cases}
    files = {f"{case.id}__{name}": array for case in cases for name, array in case.arrays.items()}
    # "raises": the error a case asks for, which the probe keeps out of the errors the report shows.
    files["args"] = {"cases": [{"id": c.id, "function": c.function, "arrays": [f"{c.id}__{n}" for n in c.arrays],
                                "args": c.args, "kwargs": c.kwargs,
                                **({"raises": "ValueError"} if c.expected is ValueError else {})} for c in cases]}
    return files


MODULE_NAMES = list_of(STRING, "a list of module names (strings)")
SCALAR = Kind.of("a number", lambda value: isinstance(value, (int, float)) and not isinstance(value, bool))
"""What the probe records of a function that returned a Python or NumPy number: NaN and inf included."""
MISSING = {"missing": True}
"""A case the probe's record of results lacks: the probe records every case it is given."""


def _frameworks(evidence: Evidence) -> list[str]:
    loaded = set(observed(evidence, "run", "frameworks_loaded", expect=MODULE_NAMES))
    imported = set(evidence.secrets.get("imported_modules", ()))
    return sorted((loaded | imported) & set(FRAMEWORKS))


def _describe(value) -> str:
    return np.array2string(np.asarray(value).squeeze(), precision=4, separator=", ").replace("\n", "")


def _difference(got: np.ndarray, expected: np.ndarray) -> str:
    """Small arrays are shown whole; for large ones, where they differ most."""
    if expected.size <= 16:
        return f"got {_describe(got)}, expected {_describe(expected)}"
    where = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape)
    index = tuple(int(i) for i in where)
    return (f"values differ: at index {index} got {got[where]:.6g}, expected {expected[where]:.6g} "
            f"({int((~np.isclose(got, expected, rtol=RTOL, atol=ATOL)).sum())} of {expected.size} values off)")


def _result(results: dict, case_id: str) -> dict:
    """The probe's record of one case, {"scalar": x}, {"array": name, ...} or {"error": {type, message}},
    checked to be one: Malformed otherwise."""
    if case_id not in results:
        return MISSING
    where = f"results[{case_id!r}]"
    result = require(results[case_id], OBJECT, where)
    if "error" in result:
        error = entry(result, "error", OBJECT, where)
        entry(error, "type", STRING, f"{where}.error")
        if "message" in error:
            entry(error, "message", STRING, f"{where}.error")
    if "scalar" in result:
        entry(result, "scalar", SCALAR, where)
    return result


def _close(got: int | float, expected) -> bool:
    try:
        return bool(np.isclose(float(got), expected, rtol=RTOL, atol=ATOL))
    except OverflowError:  # an int beyond any float: far from every expected number
        return False


def _shown(got) -> str:
    return describe_json(got) if isinstance(got, int) and abs(got) >= 10**20 else str(got)


def _call(case: Case) -> str:
    """How the case calls the student's function: "conv2d(x, w, stride=2, padding=1)"."""
    arguments = list(case.arrays) + [repr(a) for a in case.args] + [f"{k}={v!r}" for k, v in case.kwargs.items()]
    return f"{case.function}({', '.join(arguments)})"


def _judge(case: Case, result: dict, out_dir: Path) -> str | None:
    """None when the student's answer matches the reference, else a sentence saying how it differs."""
    call = f"[{case.id}] {_call(case)}"
    if result is MISSING:
        return f"{call}: the grader has no record of your answer, though it records every case. {TAMPERED}"
    if "error" in result:
        error = result["error"]
        if case.expected is ValueError and error.get("type") == "ValueError":
            return None
        return f"{call} raised {error.get('type')}: {error.get('message', '')}"[:400]
    if case.expected is ValueError:
        return (f"{call} returned {_shown(result['scalar']) if 'scalar' in result else 'a value'}; "
                "expected it to raise ValueError (the stride does not fit).")
    if np.isscalar(case.expected):
        got = result.get("scalar")
        if got is None or not _close(got, case.expected):
            return f"{call}: got {_shown(got)}, expected {case.expected}."
        return None
    try:
        got = _answer(case, out_dir)
    except ObservationError as error:
        return f"{call}: {error}"
    expected = np.asarray(case.expected)
    if got.shape != expected.shape:
        cause = " Check the output size: (H + 2P - D(K - 1) - 1) // S + 1." if got.ndim == expected.ndim else ""
        return f"{call}: got shape {got.shape}, expected {expected.shape}.{cause}"
    if np.allclose(got, expected, rtol=RTOL, atol=ATOL):
        return None
    if case.flipped is not None and np.allclose(got, case.flipped, rtol=RTOL, atol=ATOL):
        return (f"{call}: {_difference(got, expected)}. Likely cause: you flipped the "
                "kernel. conv2d is cross-correlation, as in Keras; only convolve2d flips the kernel.")
    return f"{call}: {_difference(got, expected)} (tolerance rtol={RTOL}, atol={ATOL})."


def _answer(case: Case, out_dir: Path) -> np.ndarray:
    """The array the student's function returned for `case`, read with the strict reader, and
    bounded: a wrong shape of many times the expected values is still read, a runaway one is not."""
    return read_array(out_dir, f"{case.id}.npy", dtype_kind="f", what="your answer",
                      max_bytes=max(64 * 8 * np.asarray(case.expected).size, 2**20))


def _raised(outcome: PhaseOutcome, case: Case, result: dict) -> RaisedError | None:
    """What the student's function raised on `case`, as the report's notes show it (the probe's
    record of errors), or the function the file lacks; None for anything else (an answer, an answer
    of no numbers, the ValueError a case asks for)."""
    if "error" not in result:
        return None
    missing = RaisedError(case.function, result["error"]["type"], result["error"].get("message", ""), "")
    if missing.note() is None:
        return missing  # "Not checked: your file does not define conv2d()."
    recorded = outcome.raised(case.id)
    return None if recorded is None else RaisedError(case.function, recorded.kind, recorded.message, recorded.traceback)


def _stopped(chosen: list[Case], answers: dict, problems: dict, outcome: PhaseOutcome) -> dict[str, RaisedError]:
    """The functions that raised one and the same error on every case of theirs in `chosen`: the
    report's notes show that error once, and the check says so in one line instead of case by case."""
    stopped = {}
    for function in dict.fromkeys(case.function for case in chosen):
        cases = [case for case in chosen if case.function == function]
        raised = [_raised(outcome, case, answers[case.id]) for case in cases]
        first = raised[0]
        if first is not None and all(problems[case.id] for case in cases) and all(
                error is not None and (error.kind, error.message) == (first.kind, first.message) for error in raised):
            stopped[function] = first
    return stopped


def cases_check(description: str, select):
    """Fraction of the selected cases answered right; lists the first few wrong ones."""

    def check(evidence: Evidence) -> Verdict:
        frameworks = _frameworks(evidence)
        if frameworks:
            raise NotObserved(f"conv_ops must use NumPy only, but your file loads {', '.join(frameworks)}: "
                              "these points need your own NumPy implementation.")
        results = observed(evidence, "run", "results", expect=OBJECT)
        outcome = evidence.phases["run"]
        chosen = [case for case in evidence.secrets["cases"].values() if select(case)]
        answers = {case.id: _result(results, case.id) for case in chosen}
        problems = {case.id: _judge(case, answers[case.id], outcome.out_dir) for case in chosen}
        wrong = [case for case in chosen if problems[case.id]]
        if not wrong:
            return Verdict(1.0, f"{description}: all {len(chosen)} cases right.")
        stopped = _stopped(chosen, answers, problems, outcome)
        lines = [error.not_checked(evidence.functions) for error in stopped.values()]
        if len(stopped) == len({case.function for case in chosen}):
            raise NotObserved("\n".join(lines))
        listed = [problems[case.id] for case in wrong if case.function not in stopped]
        shown = [f"- {line}" for line in lines + listed[:3]]
        if len(listed) > 3:
            shown.append(f"- and {len(listed) - 3} more")
        return Verdict(1 - len(wrong) / len(chosen),
                       f"{description}: {len(wrong)} of {len(chosen)} cases wrong.\n" + "\n".join(shown))

    return check


def numpy_only(evidence: Evidence) -> Verdict:
    frameworks = _frameworks(evidence)
    if frameworks:
        return Verdict(0.0, f"Your file loads {', '.join(frameworks)}; conv_ops must use NumPy only, "
                            "so every numeric check scores zero. Remove those imports.")
    return Verdict(1.0, "Uses NumPy only.")


MAX_DIFFERENCES = 3
"""Heat maps a report shows at most: the first public conv2d and convolve2d cases answered wrong."""
MAX_SIDE = 64
"""Rows and columns of a heat map at most (the public cases are smaller)."""
WORKED_EXAMPLES = {
    "example1_xcorr": "worked example 1", "example2_xcorr": "worked example 2",
    "example3_x_kernel": "worked example 3 (the X kernel)", "example3b_grey": "worked example 3b (the top-left 5x5)",
    "example3b_padded": "worked example 3b with padding=1",
    "example1_true_conv": "worked example 1", "example2_true_conv": "worked example 2",
}
"""The README's test vectors, by case, as the student finds them there."""


def _heat_map_cases(cases: dict[str, Case]) -> list[Case]:
    """Public cases with an array answer, as the report tries them: the worked examples of conv2d,
    then its random cases (larger, where a pattern shows better), then convolve2d's examples."""
    public = [case for case in cases.values() if not case.id.startswith("hidden_")]
    worked = [case for case in public if case.function == "conv2d" and case.id in WORKED_EXAMPLES]
    random = [case for case in public if case.function == "conv2d" and case.id not in WORKED_EXAMPLES]
    flipped = [case for case in public if case.function == "convolve2d" and case.id in WORKED_EXAMPLES]
    return worked + random + flipped


def _difference_of(case: Case, got: np.ndarray) -> Difference:
    """One image and channel of a wrong answer beside the expected one: where they differ most."""
    expected = np.asarray(case.expected, dtype=np.float64)
    label = f"{WORKED_EXAMPLES.get(case.id, f'case {case.id}')}: {_call(case)}"
    if expected.ndim == 4:
        off = np.nan_to_num(np.abs(got - expected), nan=np.inf).max(axis=(1, 2))
        image, channel = (int(i) for i in np.unravel_index(np.argmax(off), off.shape))
        if expected.shape[0] > 1 or expected.shape[3] > 1:
            label += f", image {image}, output channel {channel}"
        got, expected = got[image, :, :, channel], expected[image, :, :, channel]
    return Difference(label, got[:MAX_SIDE, :MAX_SIDE].copy(), expected[:MAX_SIDE, :MAX_SIDE].copy())


def differences(evidence: Evidence) -> tuple[Difference, ...]:
    """For the report's heat maps of |got - expected|: the public conv2d (then convolve2d) cases the
    student's functions answered wrong with an array of the right shape, read back with the strict
    reader. Hidden cases never appear: their inputs are secret. Never raises for what the sandbox wrote."""
    try:
        results = observed(evidence, "run", "results", expect=OBJECT)
    except NotObserved:
        return ()
    out_dir = evidence.phases["run"].out_dir
    found = []
    for case in _heat_map_cases(evidence.secrets.get("cases", {})):
        expected = np.asarray(case.expected)
        try:
            if "array" not in _result(results, case.id):
                continue
            got = read_array(out_dir, f"{case.id}.npy", dtype_kind="f", shape=expected.shape,
                             max_bytes=8 * expected.size + 2**12, what="your answer")
        except (NotObserved, ObservationError):
            continue  # the check says what is wrong with it
        if not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
            found.append(_difference_of(case, got))
        if len(found) == MAX_DIFFERENCES:
            break
    return tuple(found)


def _ids(*prefixes):
    return lambda case: case.id.startswith(prefixes)


def _kind(kind, hidden=False):
    return lambda case: case.id.startswith("hidden_" if hidden else "public_") and f"_{kind}_" in case.id


ASSIGNMENT = Assignment(
    name="conv_ops",
    title="Convolution and pooling in NumPy",
    functions=("conv2d", "convolve2d", "max_pool2d", "avg_pool2d", "output_size", "conv_param_count"),
    phases=(Phase("run", seconds=60, inputs=inputs),),
    probe=Path(__file__).with_name("probe.py"),
    differences=differences,
    checks=(
        Check("conv2d: the course's worked examples", 4, cases_check("Worked examples 1-3b", _ids("example1_x", "example2_x", "example3")), needs=("run",)),
        Check("conv2d: stride and padding", 3, cases_check("Random shapes with int strides and paddings", _kind("stride_padding")), needs=("run",)),
        Check("conv2d: (height, width) pairs", 2, cases_check("Strides and paddings given as pairs", _kind("pairs")), needs=("run",)),
        Check("conv2d: padding='same'", 2, cases_check("padding='same'", _kind("same")), needs=("run",)),
        Check("conv2d: dilation", 2, cases_check("Dilated kernels", _kind("dilation")), needs=("run",)),
        Check("conv2d: groups", 2, cases_check("Grouped convolution", _kind("groups")), needs=("run",)),
        Check("conv2d: bias", 1, cases_check("Bias added per output channel", _kind("bias")), needs=("run",)),
        Check("convolve2d: true convolution", 3, cases_check("convolve2d (kernel flipped)", lambda c: c.function == "convolve2d" and not c.id.startswith("hidden_")), needs=("run",)),
        Check("max_pool2d and avg_pool2d", 3, cases_check("Pooling", lambda c: c.function in ("max_pool2d", "avg_pool2d") and not c.id.startswith("hidden_")), needs=("run",)),
        Check("output_size", 2, cases_check("Output sizes", _ids("output_size_7", "output_size_32", "output_size_28", "output_size_5", "output_size_9")), needs=("run",)),
        Check("output_size rejects strides that do not fit", 1, cases_check("Invalid settings raise ValueError", _ids("output_size_invalid")), needs=("run",)),
        Check("conv_param_count", 1, cases_check("Parameter counts", _ids("param_count")), needs=("run",)),
        Check("NumPy only", 1, numpy_only, needs=("run",)),
        Check("hidden cases: conv2d, pooling, convolve2d", 3, cases_check("Hidden random cases", _ids("hidden_")), needs=("run",), hidden=True),
    ),
)
