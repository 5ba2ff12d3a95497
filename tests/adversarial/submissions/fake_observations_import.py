"""conv_ops: implements nothing; at import, writes an observations.json that claims every case was
answered, and .npy files for every case, before the probe has run anything."""

import json

import numpy as np

MARKER = "ADVERSARIAL_fake_observations_import"

with open("/inputs/args.json") as file:
    CASES = json.load(file)["cases"]
results = {}
for case in CASES:
    if case["function"] in ("output_size", "conv_param_count"):
        results[case["id"]] = {"scalar": 1}
    else:
        np.save(f"/out/{case['id']}.npy", np.zeros((1, 2, 2, 1)))
        results[case["id"]] = {"array": case["id"], "type": "ndarray"}
with open("/out/observations.json", "w") as file:
    json.dump({"errors": {}, "seconds": {}, "frameworks_loaded": [], "results": results, "phase": "run"}, file)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    raise NotImplementedError


convolve2d = max_pool2d = avg_pool2d = output_size = conv_param_count = conv2d
