"""Assignment 1 (conv_ops): the cases the grader feeds the student's functions, and the checks' points."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.assignment import Assignment, Check, Evidence, Phase, Verdict, describe_json
from grader.checks import OBJECT, STRING, Kind, NotObserved, entry, list_of, observed, require
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
    files["args"] = {"cases": [{"id": c.id, "function": c.function, "arrays": [f"{c.id}__{n}" for n in c.arrays],
                                "args": c.args, "kwargs": c.kwargs} for c in cases]}
    return files


MODULE_NAMES = list_of(STRING, "a list of module names (strings)")
SCALAR = Kind.of("a number", lambda value: isinstance(value, (int, float)) and not isinstance(value, bool))
"""What the probe records of a function that returned a Python or NumPy number: NaN and inf included."""
MISSING = {"error": {"type": "Missing", "message": "no result"}}


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


def _judge(case: Case, result: dict, out_dir: Path) -> str | None:
    """None when the student's answer matches the reference, else a sentence saying how it differs."""
    call = f"[{case.id}] {case.function}({', '.join(list(case.arrays) + [repr(a) for a in case.args] + [f'{k}={v!r}' for k, v in case.kwargs.items()])})"
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
        got = read_array(out_dir, f"{case.id}.npy", dtype_kind="f")
    except ObservationError as error:
        return f"{call}: the result could not be read ({error})."
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


def cases_check(description: str, select):
    """Fraction of the selected cases answered right; lists the first few wrong ones."""

    def check(evidence: Evidence) -> Verdict:
        frameworks = _frameworks(evidence)
        if frameworks:
            raise NotObserved(f"conv_ops must use NumPy only, but your file loads {', '.join(frameworks)}: "
                              "these points need your own NumPy implementation.")
        results = observed(evidence, "run", "results", expect=OBJECT)
        chosen = [case for case in evidence.secrets["cases"].values() if select(case)]
        answers = {case.id: _result(results, case.id) for case in chosen}
        wrong = [problem for case in chosen
                 if (problem := _judge(case, answers[case.id], evidence.phases["run"].out_dir))]
        if not wrong:
            return Verdict(1.0, f"{description}: all {len(chosen)} cases right.")
        shown = "\n".join(f"- {w}" for w in wrong[:3]) + (f"\n- and {len(wrong) - 3} more" if len(wrong) > 3 else "")
        return Verdict(1 - len(wrong) / len(chosen), f"{description}: {len(wrong)} of {len(chosen)} cases wrong.\n{shown}")

    return check


def numpy_only(evidence: Evidence) -> Verdict:
    frameworks = _frameworks(evidence)
    if frameworks:
        return Verdict(0.0, f"Your file loads {', '.join(frameworks)}; conv_ops must use NumPy only, "
                            "so every numeric check scores zero. Remove those imports.")
    return Verdict(1.0, "Uses NumPy only.")


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
