"""collect(): the report's figures from what the phases wrote, against known values."""

import numpy as np
import pytest

from grader.assignment import Evidence, ExpectedLayer, PhaseOutcome
from grader.assignment import load_assignment
from grader.pictures.collect import collect
from tests.grader.checks.honest import HIDDEN, honest_evidence


def with_predictions(evidence: Evidence, predictions: np.ndarray, labels: np.ndarray) -> Evidence:
    folder = evidence.phases["predict"].out_dir
    np.save(folder / "predictions.npy", predictions, allow_pickle=False)
    return Evidence(evidence.phases, {**evidence.secrets, "hidden_labels": labels}, evidence.functions)


def test_the_layer_table_is_every_layer_beside_what_is_expected(tmp_path):
    assignment = load_assignment("mnist_convnet")
    expected = {"conv1": ExpectedLayer([None, 28, 28, 4], 104), "fc1": ExpectedLayer([None, 512], 999)}
    evidence = honest_evidence("mnist_convnet", tmp_path)

    figures = collect(assignment.__class__(**{**assignment.__dict__, "expected_layers": expected}), evidence)

    assert [(row.name, row.kind, row.output_shape, row.trainable_params) for row in figures.layers][:3] == [
        ("image", "InputLayer", [None, 28, 28, 1], 0), ("conv1", "Conv2D", [None, 28, 28, 4], 104),
        ("pool1", "MaxPooling2D", [None, 14, 14, 4], 0)]
    rows = {row.name: row for row in figures.layers}
    assert (rows["conv1"].shape_wrong, rows["conv1"].params_wrong) == (False, False)
    assert (rows["fc1"].shape_wrong, rows["fc1"].params_wrong) == (False, True)
    assert rows["pool1"].expected_output_shape is None and not rows["pool1"].shape_wrong


def test_a_layer_with_several_outputs_keeps_its_shapes_and_nonsense_becomes_unknown(tmp_path):
    evidence = honest_evidence("digit_adder", tmp_path)
    layers = evidence.phases["build"].observations["model"]["layers"]
    layers[3]["output_shape"] = "many"
    layers[3]["trainable_params"] = True

    rows = {row.name: row for row in collect(load_assignment("digit_adder"), evidence).layers}

    assert rows["pair"].output_shape == [[None, 10], [None, 10]]
    assert rows["digit_reader"].output_shape is None
    assert (rows["digit_reader/conv"].output_shape, rows["digit_reader/conv"].trainable_params) == (None, None)


@pytest.mark.parametrize("shape", [(6, 3), (6,), (6, 1)])
def test_the_confusion_matrix_counts_true_against_predicted(tmp_path, shape):
    labels = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 2, 0])
    outputs = np.eye(3, dtype="float32")[predicted] if shape == (6, 3) else predicted.astype("float32").reshape(shape)
    evidence = with_predictions(honest_evidence("lenet5", tmp_path), outputs, labels)

    confusion = collect(load_assignment("lenet5"), evidence).confusion

    assert confusion.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_the_honest_confusion_matrix_is_diagonal(tmp_path):
    figures = collect(load_assignment("digit_adder"), honest_evidence("digit_adder", tmp_path))
    assert figures.confusion.shape == (19, 19)
    assert np.trace(figures.confusion) == HIDDEN == figures.confusion.sum()


@pytest.mark.parametrize("predictions, reason", [
    (np.full((HIDDEN, 10), np.nan, dtype="float32"), "NaN or infinity"),
    (np.zeros((HIDDEN - 1, 10), dtype="float32"), "expected one row per hidden item"),
    (np.zeros((HIDDEN, 2, 5), dtype="float32"), "expected one row per hidden item"),
])
def test_predictions_that_cannot_be_counted_say_why(tmp_path, predictions, reason):
    evidence = honest_evidence("lenet5", tmp_path)
    evidence = with_predictions(evidence, predictions, evidence.secrets["hidden_labels"])
    figures = collect(load_assignment("lenet5"), evidence)
    assert figures.confusion is None and reason in figures.missing["confusion"]


def test_a_failed_phase_leaves_its_figures_out_with_the_reason(tmp_path):
    evidence = honest_evidence("lenet5", tmp_path)
    evidence.phases["build"] = PhaseOutcome("build", True, {}, None, failure="Your code timed out.")
    evidence.phases["predict"] = PhaseOutcome("predict", False, {}, None, failure="Not run.")
    figures = collect(load_assignment("lenet5"), evidence)
    assert figures.layers == () and figures.confusion is None
    assert set(figures.missing) >= {"layers", "confusion"}
    assert "the build phase did not give results" in figures.missing["layers"]


def test_a_self_check_has_no_confusion_and_says_nothing_of_it(tmp_path):
    evidence = honest_evidence("lenet5", tmp_path)
    secrets = {k: v for k, v in evidence.secrets.items() if k != "hidden_labels"}
    figures = collect(load_assignment("lenet5"), Evidence(evidence.phases, secrets))
    assert figures.confusion is None and "confusion" not in figures.missing


def test_a_model_with_too_few_outputs_shows_the_classes_it_never_predicts(tmp_path):
    labels = np.array([0, 1, 2, 3])
    evidence = with_predictions(honest_evidence("lenet5", tmp_path), np.eye(2, dtype="float32")[[0, 1, 1, 1]], labels)
    confusion = collect(load_assignment("lenet5"), evidence).confusion
    assert confusion.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0]]
