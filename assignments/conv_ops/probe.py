"""Runs inside the sandbox: calls the student's conv_ops functions on the grader's cases."""

import sys

FRAMEWORKS = ("tensorflow", "keras", "torch", "jax", "scipy")


def run(probe):
    # Which frameworks are loaded right after the student's import: conv_ops must be NumPy only.
    probe.record("frameworks_loaded", sorted({m.split(".")[0] for m in sys.modules} & set(FRAMEWORKS)))
    results = {}
    for case in probe.args["cases"]:
        function = getattr(probe.student, case["function"], None)
        if function is None:
            results[case["id"]] = {"error": {"type": "AttributeError",
                                             "message": f"no function named {case['function']}"}}
            continue
        arrays = [probe.load_array(name) for name in case["arrays"]]
        with probe.step(case["id"]):
            value = function(*arrays, *case.get("args", []), **case.get("kwargs", {}))
            results[case["id"]] = _save(probe, case["id"], value)
        if probe.failed(case["id"]):
            results[case["id"]] = {"error": probe.observations["errors"].pop(case["id"])}
    probe.record("results", results)


def _save(probe, case_id, value):
    import numpy as np

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"scalar": value}
    if isinstance(value, np.integer | np.floating):
        return {"scalar": value.item()}
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        return {"error": {"type": "TypeError", "message": f"returned {type(value).__name__} "
                                                          f"of dtype {array.dtype}, not numbers"}}
    probe.save_array(case_id, array.astype(np.float64))
    return {"array": case_id, "type": type(value).__name__}


PHASES = {"run": run}
