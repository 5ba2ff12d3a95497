"""Assignment 5 (digit_adder): what is checked, for how many points."""

from pathlib import Path

import numpy as np

from grader.assignment import Assignment, Check, Phase
from grader.checks.accuracy import Readings, hidden_accuracy
from grader.checks.model import model_shapes, outputs_are_probabilities_or_numbers
from grader.data import stratified_split
from grader.phases import GPU_SHARE, TRAIN_CPUS, build_phase, digit_pairs_phase

PROBE_PAIRS = 16
HIDDEN_PAIRS = 2000
TRAIN_BUDGET_SECONDS = 180  # what the task promises students: 3 minutes on 2 CPU cores
TRAIN_DIGITS = 8000  # ... for 8,000 digits: with full MNIST, a fixed stratified subset of the public split
# The sandbox also imports Keras and builds the model before train_adder starts.
TRAIN_PHASE_SECONDS = TRAIN_BUDGET_SECONDS + 60

# "Outputs one number: the sum": 19 probabilities of the sums 0..18, or a regression of the sum itself.
OUTPUT_FORMS = {"19 probabilities of the sums 0..18": ([[None, 19]],),
                "one number per pair: the sum": ([[None]], [[None, 1]])}
READINGS = Readings(rows="19 probabilities per pair; the largest is the predicted sum",
                    number="one number per pair, rounded to the nearest sum in 0..18 (x.5 rounds up)")


def probe_pairs(rng: np.random.Generator) -> dict:
    return {"images_a": rng.uniform(0, 1, (PROBE_PAIRS, 28, 28, 1)).astype("float32"),
            "images_b": rng.uniform(0, 1, (PROBE_PAIRS, 28, 28, 1)).astype("float32")}


def train_phase() -> Phase:
    def inputs(context) -> dict:
        public = context.mnist().public
        images, labels = public.images, public.labels
        if len(labels) > TRAIN_DIGITS:
            _, subset = stratified_split(images, labels, TRAIN_DIGITS / len(labels), seed=TRAIN_DIGITS)
            images, labels = subset.images, subset.labels
        return {"public_images": images, "public_labels": labels, "args": {"seed": 0}}

    return Phase("train", TRAIN_PHASE_SECONDS, hidden=True, inputs=inputs, cpus=TRAIN_CPUS, gpu=GPU_SHARE,
                 joins_previous=True)  # public digits only: it shares the build phase's sandbox


ASSIGNMENT = Assignment(
    name="digit_adder",
    title="Homework: the handwritten digit adder",
    functions=("build_adder", "train_adder"),
    probe=Path(__file__).with_name("probe.py"),
    phases=(build_phase(probe_pairs), train_phase(), digit_pairs_phase(HIDDEN_PAIRS)),
    checks=(
        Check("inputs: two (None, 28, 28, 1) images; output (None, 19) or one number per pair", 3, model_shapes(
            [[None, 28, 28, 1], [None, 28, 28, 1]], OUTPUT_FORMS, step="build_adder"), needs=("build",)),
        Check("output: probabilities of the sums 0..18, or the sum", 2,
              outputs_are_probabilities_or_numbers(
                  PROBE_PAIRS, 19, item="pair", what="the sum", step="build_adder",
                  probabilities_cause="end with a 19-way softmax over the sums 0..18.",
                  numbers_cause="a sigmoid or softmax kept from a classifier: end in Dense(1) with no "
                                "activation (or relu), or scale the sigmoid, e.g. 18 * sigmoid."),
              needs=("build",)),
        Check("accuracy on 2,000 pairs of hidden digits after your train_adder", 15, hidden_accuracy(
            sample=(0.75, 0.93), full=(0.75, 0.93), classes=19, what="pairs of hidden digits", readings=READINGS,
            cause="the network reads single digits poorly (train longer, or add the digit labels as an extra loss) "
                  "or the pairs you trained on do not cover all 19 sums."),
            needs=("train", "predict"), hidden=True),
    ),
)
