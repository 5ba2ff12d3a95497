"""conv_ops: implements nothing; once the probe has written observations.json, the student's atexit
handler rewrites it with JSON of the wrong types: "errors" a list (which hid the NotImplementedErrors
and raised AttributeError inside the grader), step times as strings, the results as strings that
claim success, and a boolean for the frameworks loaded."""

import atexit
import json

MARKER = "ADVERSARIAL_wrong_json_types"


def _rewrite():
    with open("/out/observations.json") as file:
        observations = json.load(file)
    observations["errors"] = ["none"]
    observations["seconds"] = {step: "fast" for step in observations["seconds"]}
    observations["results"] = {case: "passed" for case in observations["results"]}
    observations["frameworks_loaded"] = False
    observations["wall_seconds"] = "0"
    with open("/out/observations.json", "w") as file:
        json.dump(observations, file)


atexit.register(_rewrite)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    raise NotImplementedError


def convolve2d(x, k):
    raise NotImplementedError


def max_pool2d(x, pool_size=2, stride=None):
    raise NotImplementedError


def avg_pool2d(x, pool_size=2, stride=None):
    raise NotImplementedError


def output_size(n, f, padding=0, stride=1):
    raise NotImplementedError


def conv_param_count(f, d_in, k, bias=True):
    raise NotImplementedError
