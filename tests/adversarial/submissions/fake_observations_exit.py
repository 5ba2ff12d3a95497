"""conv_ops: implements nothing; at import, writes an observations.json that claims every case was
answered (with .npy files of zeros), then ends the process before the probe can overwrite it."""

import json
import os

import numpy as np

MARKER = "ADVERSARIAL_fake_observations_exit"

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
os._exit(0)
