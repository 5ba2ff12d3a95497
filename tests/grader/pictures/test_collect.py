"""collect(): the report's figures from what the phases wrote, against known values."""

import numpy as np
import pytest

from grader.assignment import Evidence, ExpectedLayer, PhaseOutcome
from grader.assignment import load_assignment
from grader.pictures.collect import collect
from grader.pictures.figures import Figures
from grader.pictures.reference import ReferenceCurves
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


# --- the trained network's figures (grader/pictures/learned.py) ---

INTERNAL_NAMES = ("kernel_layer", "feature_maps", "report_problems", "robustness_predictions", ".npy", "val_loss",
                  "train_size", "observations.json")
"""What the probe calls its records: no reason a student reads may name one."""


def test_the_learning_curves_are_the_recorded_history_with_the_split_sizes(tmp_path):
    figures = collect(load_assignment("lenet5"), honest_evidence("lenet5", tmp_path))
    curves = figures.curves
    assert (curves.loss, curves.accuracy, curves.val_loss, curves.val_accuracy) == (
        (0.5, 0.2), (0.8, 0.9), (0.4, 0.3), (0.85, 0.9))
    assert (curves.train_size, curves.validation_size) == (7200, 800)


def test_kernels_feature_maps_and_robustness_come_back_as_the_probe_saved_them(tmp_path):
    evidence = honest_evidence("mnist_convnet", tmp_path)
    folder = evidence.phases["predict"].out_dir
    kernels = np.arange(5 * 5 * 1 * 4, dtype="float32").reshape(5, 5, 1, 4)
    maps = np.random.default_rng(0).normal(size=(2, 28, 28, 4)).astype("float32")
    np.save(folder / "kernels.npy", kernels)
    np.save(folder / "feature_maps_0.npy", maps)

    figures = collect(load_assignment("mnist_convnet"), evidence)

    assert figures.kernel_layer == "conv1"
    np.testing.assert_array_equal(figures.kernels, kernels)
    (layer,) = figures.feature_maps
    assert (layer.layer, layer.kind, layer.maps) == ("conv1", "Conv2D", 4)
    np.testing.assert_array_equal(layer.original, maps[0])
    np.testing.assert_array_equal(layer.shifted, maps[1])
    assert figures.shift_pixels == (3, 3) and figures.digit.shape == (2, 28, 28)
    assert [c.transform for c in figures.robustness] == ["shift", "rotation", "noise"]
    assert figures.robustness == figures.reference_robustness  # the fixture's reference is the same model
    assert not figures.missing
    assert Figures.from_json(figures.to_json()).curves == figures.curves


def test_known_predictions_on_the_transformed_digits_give_known_curves(tmp_path):
    evidence = honest_evidence("lenet5", tmp_path)
    plan = evidence.secrets["robustness"]
    predicted = np.tile(plan.labels, (len(plan.blocks), 1))
    predicted[plan.blocks.index(("shift", 4))] = (plan.labels + 1) % 10  # all wrong at 4 pixels
    predicted[plan.blocks.index(("noise", 0.5)), : len(plan.labels) // 4] = 0  # labels 0..9: a quarter, 3 of 5 wrong
    np.save(evidence.phases["predict"].out_dir / "robustness_predictions.npy",
            np.eye(10, dtype="float32")[predicted.reshape(-1)])

    shift, rotation, noise = collect(load_assignment("lenet5"), evidence).robustness

    assert shift.accuracy == (1.0, 1.0, 1.0, 1.0, 0.0) and rotation.accuracy == (1.0,) * 7
    assert noise.accuracy[-1] == 0.8 and noise.digits == len(plan.labels)


@pytest.mark.parametrize("step, observations, arrays, figure, reason", [
    ("train", {"history": {"loss": [0.1], "accuracy": ["high"]}}, {}, "curves", "not usable"),
    ("train", {"history": {"loss": "low"}}, {}, "curves", "not usable"),
    ("train", {"history": None}, {}, "curves", "no per-epoch history"),
    ("train", {"train_size": -1}, {}, "curves", "not usable"),
    ("predict", {"kernel_layer": None}, {}, "kernels", "the model has no convolution"),
    ("predict", {"kernel_layer": "c1"}, {}, "kernels", "not usable"),
    ("predict", {}, {"kernels": np.ones((5, 5, 1, 999), dtype="float32")}, "kernels", "not usable"),
    ("predict", {}, {"kernels": np.full((5, 5, 1, 6), np.nan, dtype="float32")}, "kernels", "training diverged"),
    ("predict", {"report_problems": {"kernels": "ValueError: no"}}, {}, "kernels", "ValueError: no"),
    ("predict", {"feature_maps": []}, {}, "feature_maps", "no convolution or pooling layer"),
    ("predict", {"feature_maps": [{"layer": "c1"}]}, {}, "feature_maps", "not usable"),
    ("predict", {"feature_maps": [{"layer": "c1", "kind": "Conv2D", "maps": 10**100}]}, {}, "feature_maps",
     "not usable"),
    ("predict", {}, {"feature_maps_0": np.ones((2, 99, 99, 6), dtype="float32")}, "feature_maps", "not usable"),
    ("predict", {}, {"feature_maps_0": np.ones((2, 28, 28, 6), dtype="object")}, "feature_maps", "not usable"),
    ("predict", {"report_problems": {"feature_maps": "ValueError: the model is a subclassed keras.Model"}}, {},
     "feature_maps", "subclassed"),
    ("predict", {}, {"robustness_predictions": np.zeros((3, 10), dtype="float32")}, "robustness", "not usable"),
    ("predict", {}, {"robustness_predictions": np.full((20 * 16, 10), np.inf, dtype="float32")}, "robustness",
     "NaN or infinity"),
    ("predict", {"report_problems": {"robustness": "MemoryError: "}}, {}, "robustness", "raised an error"),
])
def test_what_the_sandbox_wrote_wrong_costs_its_figure_with_a_reason_in_plain_words(
        tmp_path, step, observations, arrays, figure, reason):
    evidence = honest_evidence("lenet5", tmp_path)
    outcome = evidence.phases[step]
    outcome.observations |= observations
    for name, array in arrays.items():
        np.save(outcome.out_dir / f"{name}.npy", array, allow_pickle=array.dtype == object)

    figures = collect(load_assignment("lenet5"), evidence)

    assert reason in figures.missing[figure]
    assert not any(name in figures.missing[figure] for name in INTERNAL_NAMES), figures.missing[figure]
    others = {"curves", "kernels", "feature_maps", "robustness"} - {figure}
    assert not others & set(figures.missing)


def test_an_error_in_training_leaves_the_curves_out_and_points_to_it(tmp_path):
    evidence = honest_evidence("lenet5", tmp_path)
    evidence.phases["train"].observations["errors"] = {
        "train": {"type": "ValueError", "message": "bad shape", "traceback": ""}}
    assert collect(load_assignment("lenet5"), evidence).missing["curves"] == "training raised an error (shown at the top)"


def test_a_self_check_says_the_trained_figures_come_with_the_graded_submission(tmp_path):
    evidence = honest_evidence("lenet5", tmp_path)
    for phase in ("train", "predict"):
        evidence.phases[phase] = PhaseOutcome(phase, False, {}, None)
    secrets = {"imported_modules": []}
    figures = collect(load_assignment("lenet5"), Evidence(evidence.phases, secrets))
    assert set(figures.missing) == {"curves", "kernels", "feature_maps"}
    assert all("self-check" in why for why in figures.missing.values())
    assert figures.layers and not figures.robustness


def test_without_the_references_curves_the_report_says_why(tmp_path):
    evidence = honest_evidence("lenet5", tmp_path)
    evidence.secrets["reference_robustness"] = ReferenceCurves(missing="the grader could not compute them")
    figures = collect(load_assignment("lenet5"), evidence)
    assert figures.robustness and not figures.reference_robustness
    assert figures.missing == {"reference_robustness": "the grader could not compute them"}


def test_resnet_has_a_row_per_block_and_depth_and_no_training_figures(tmp_path):
    evidence = honest_evidence("resnet", tmp_path)
    evidence.phases["build"].observations["resnet50"]["trainable_params"] = 1
    figures = collect(load_assignment("resnet"), evidence)
    rows = {row.name: row for row in figures.layers}
    assert list(rows) == list(load_assignment("resnet").expected_layers)
    assert rows["basic_downsample"].output_shape == [None, 4, 4, 32] and not rows["basic_downsample"].shape_wrong
    assert rows["resnet50"].params_wrong and not rows["resnet18"].params_wrong
    assert figures.missing == {name: "this assignment builds the network without training it"
                               for name in ("curves", "kernels", "feature_maps")}


def test_conv_ops_has_no_network_figures_and_no_lines_for_them(tmp_path):
    figures = collect(load_assignment("conv_ops"), honest_evidence("conv_ops", tmp_path))
    assert not figures.layers and figures.curves is None
    assert not {"layers", "curves", "kernels", "feature_maps"} & set(figures.missing)
