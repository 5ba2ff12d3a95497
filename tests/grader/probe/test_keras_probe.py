"""The sandbox side of the report: Keras in this process on tiny models with known weights (no sandbox)."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.probe import keras_probe  # noqa: E402
from grader.probe.driver import Probe  # noqa: E402


def make_probe(tmp_path, **arrays) -> Probe:
    inputs, out = tmp_path / "inputs", tmp_path / "out"
    inputs.mkdir(parents=True)
    out.mkdir()
    for name, array in arrays.items():
        np.save(inputs / f"{name}.npy", array, allow_pickle=False)
    return Probe(None, inputs, out, {"seed": 0})


def tiny_model() -> keras.Model:
    """6x6x1 -> conv (two 3x3 kernels, valid) -> 2x2 max pool -> 10 probabilities, with known weights."""
    inputs = keras.Input((6, 6, 1), name="image")
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="fc")(x))
    kernel = np.zeros((3, 3, 1, 2), dtype="float32")
    kernel[:, :, 0, 0] = np.arange(9).reshape(3, 3) / 10  # a ramp
    kernel[1, 1, 0, 1] = -1.0  # minus the centre pixel
    model.get_layer("conv").set_weights([kernel, np.array([0.5, 0.0], dtype="float32")])
    return model


def correlate(image: np.ndarray, kernel: np.ndarray, bias: float) -> np.ndarray:
    """Keras's Conv2D (cross-correlation, valid), written out independently."""
    k = kernel.shape[0]
    size = image.shape[0] - k + 1
    return np.array([[np.sum(image[r:r + k, c:c + k] * kernel) + bias for c in range(size)] for r in range(size)])


def test_known_weights_give_known_kernels_and_feature_maps(tmp_path):
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (2, 6, 6), dtype=np.uint8)
    model = tiny_model()
    probe = make_probe(tmp_path, report_digits=digits, robustness_images=digits[[0, 1, 1]])

    keras_probe.report_views(probe, model)

    kernel, bias = model.get_layer("conv").get_weights()
    np.testing.assert_array_equal(np.load(probe.out / "kernels.npy"), kernel)
    assert probe.observations["kernel_layer"] == {"name": "conv", "shape": [3, 3, 1, 2]}
    assert probe.observations["feature_maps"] == [{"layer": "conv", "kind": "Conv2D", "maps": 2},
                                                  {"layer": "pool", "kind": "MaxPooling2D", "maps": 2}]
    conv, pool = np.load(probe.out / "feature_maps_0.npy"), np.load(probe.out / "feature_maps_1.npy")
    assert conv.shape == (2, 4, 4, 2) and pool.shape == (2, 2, 2, 2)
    for d in range(2):
        for m in range(2):
            expected = correlate(digits[d] / 255, kernel[:, :, 0, m], bias[m])
            np.testing.assert_allclose(conv[d, :, :, m], expected, atol=1e-5)
            np.testing.assert_allclose(pool[d, :, :, m], expected.reshape(2, 2, 2, 2).max(axis=(1, 3)), atol=1e-5)
    predictions = np.load(probe.out / "robustness_predictions.npy")
    assert predictions.shape == (3, 10) and probe.observations["robustness_predicted"] == 3
    np.testing.assert_allclose(predictions[1], predictions[2], atol=1e-6)
    assert "report_problems" not in probe.observations and not probe.observations["errors"]


def test_a_sequential_model_gives_the_same_maps_as_the_functional_one(tmp_path):
    """Sequential from keras.Input, as most students write it, raises on `model.input` ("never been
    called"): the maps were missing for every such submission."""
    functional = tiny_model()
    sequential = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="conv"),
                                   keras.layers.MaxPooling2D(2, name="pool"), keras.layers.Flatten(name="flatten"),
                                   keras.layers.Dense(10, activation="softmax", name="fc")], name="students")
    sequential.set_weights(functional.get_weights())
    digits = np.random.default_rng(1).integers(0, 256, (2, 6, 6), dtype=np.uint8)
    probes = [make_probe(tmp_path / name, report_digits=digits) for name in ("functional", "sequential")]

    for probe, model in zip(probes, (functional, sequential)):
        keras_probe.report_views(probe, model)

    assert "report_problems" not in probes[1].observations, probes[1].observations.get("report_problems")
    assert probes[1].observations["feature_maps"] == probes[0].observations["feature_maps"]
    for index in range(2):
        np.testing.assert_array_equal(np.load(probes[1].out / f"feature_maps_{index}.npy"),
                                      np.load(probes[0].out / f"feature_maps_{index}.npy"))


def test_large_maps_are_subsampled_and_cut_to_the_first_maps(tmp_path):
    inputs = keras.Input((150, 150, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(40, 1, padding="same", name="wide")(inputs))
    probe = make_probe(tmp_path, report_digits=np.zeros((2, 150, 150), dtype=np.uint8))

    keras_probe.report_views(probe, model)

    maps = np.load(probe.out / "feature_maps_0.npy")
    assert maps.shape == (2, 50, 50, keras_probe.REPORT_MAPS)
    assert probe.observations["feature_maps"][0]["maps"] == 40
    assert np.load(probe.out / "kernels.npy").shape == (1, 1, 1, 40)


def test_a_model_without_convolution_says_so(tmp_path):
    inputs = keras.Input((6, 6, 1))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    probe = make_probe(tmp_path, report_digits=np.zeros((2, 6, 6), dtype=np.uint8))

    keras_probe.report_views(probe, model)

    assert probe.observations["kernel_layer"] is None and probe.observations["feature_maps"] == []


def test_a_subclassed_model_costs_the_feature_maps_not_an_error_of_the_student(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 3)
            self.flat = keras.layers.Flatten()

        def call(self, x):
            return self.flat(self.conv(x))

    model = Net()
    model(np.zeros((1, 6, 6, 1), dtype="float32"))
    probe = make_probe(tmp_path, report_digits=np.zeros((2, 6, 6), dtype=np.uint8))

    keras_probe.report_views(probe, model)

    assert "subclassed" in probe.observations["report_problems"]["feature_maps"]
    assert probe.observations["kernel_layer"]["shape"] == [3, 3, 1, 2]
    assert not probe.observations["errors"] and "report_feature_maps" in probe.observations["seconds"]


def test_history_keeps_loss_and_accuracy_and_says_nan(tmp_path):
    probe = make_probe(tmp_path)
    keras_probe.record_history(probe, {"loss": [1.0, float("nan")], "accuracy": [0.5, 0.6], "lr": [0.1, 0.1],
                                       "val_loss": [], "val_accuracy": ["high", None]})
    assert json.loads(json.dumps(probe.observations["history"]))["accuracy"] == [0.5, 0.6]
    assert set(probe.observations["history"]) == {"loss", "accuracy"}
    assert np.isnan(probe.observations["history"]["loss"][1])
    keras_probe.record_history(make_probe(tmp_path / "none"), None)


def test_the_students_own_fit_leaves_its_history_on_the_model(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert keras_probe.history_of(model) is None
    model.fit(np.zeros((8, 3)), np.zeros(8), epochs=3, verbose=0)
    probe = make_probe(tmp_path)
    keras_probe.record_history(probe, keras_probe.history_of(model))
    assert [len(probe.observations["history"][key]) for key in ("loss", "accuracy")] == [3, 3]


def test_the_recipe_trains_on_the_training_digits_and_validates_on_the_held_out_ones(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(keras_probe.__file__).rsplit("/", 1)[0])  # the sandbox's `device` module
    rng = np.random.default_rng(1)
    probe = make_probe(tmp_path, public_images=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
                       public_labels=np.arange(40) % 10,
                       validation_images=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
                       validation_labels=np.arange(10))
    probe.args["recipe"] = {"epochs": 2, "batch_size": 16, "learning_rate": 1e-3}

    class Student:
        @staticmethod
        def build_model():
            inputs = keras.Input((28, 28, 1))
            x = keras.layers.Conv2D(2, 5, name="conv1")(inputs)
            return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x)))

    probe.student = Student
    keras_probe.train_with_recipe(probe, "build_model")

    assert not probe.observations["errors"]
    history = probe.observations["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.values())
    assert (probe.observations["train_size"], probe.observations["validation_size"]) == (40, 10)
    assert (probe.out / "model.weights.h5").is_file()


def logits_crossentropy_gradient(logits, labels, loss):
    """d loss(labels, softmax(logits)) / d logits, and the loss, by TensorFlow's tape."""
    import tensorflow as tf

    logits = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        # A plain product, so that TensorFlow's Keras loss cannot recover the logits from a softmax op.
        probabilities = tf.nn.softmax(logits) * 1.0
        value = tf.reduce_sum(loss(tf.constant(labels), probabilities))
    return tape.gradient(value, logits).numpy(), float(value)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the gradient is taken with TensorFlow's tape")
def test_recipe_loss_keeps_the_gradient_where_the_right_class_is_far_below_1e_minus_7():
    # Row 0: an everyday case; row 1: the right class 40 nats behind, where Keras's loss clips
    # the probability to 1e-7 on JAX and PyTorch (as here, on a plain tensor) and gives no gradient.
    logits = np.array([[2.0, 0.5, -1.0], [40.0, 0.0, 1.0]], dtype="float32")
    labels = np.array([0, 1])
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(logits)) - np.eye(3, dtype="float32")[labels]

    gradient, value = logits_crossentropy_gradient(logits, labels, keras_probe.probability_crossentropy)
    np.testing.assert_allclose(gradient, expected, atol=1e-5)
    log_probabilities = keras.ops.convert_to_numpy(keras.ops.log_softmax(logits))
    assert value == pytest.approx(-float(log_probabilities[[0, 1], labels].sum()), rel=1e-5)

    clipped, _ = logits_crossentropy_gradient(logits, labels, keras.losses.sparse_categorical_crossentropy)
    assert np.abs(clipped[1]).max() == 0.0, "Keras's clipped loss has no gradient for row 1: the trap this avoids"


def test_recipe_loss_is_the_same_as_the_lenet5_references():
    from reference import lenet5

    probabilities = np.array([[0.7, 0.2, 0.1], [1e-30, 0.5, 0.5], [0.0, 1.0, 0.0]], dtype="float32")
    labels = np.array([[0], [0], [0]])
    ours = keras.ops.convert_to_numpy(keras_probe.probability_crossentropy(labels, probabilities))
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(lenet5.probability_crossentropy(labels, probabilities)))
    np.testing.assert_allclose(ours[:2], [-np.log(0.7), -np.log(1e-30)], rtol=1e-5)
    assert np.isfinite(ours[2]), "a probability of exactly 0 is floored, never log(0)"


def test_the_recipe_loss_is_keras_own_on_tensorflow_and_ours_elsewhere():
    expected = "sparse_categorical_crossentropy" if keras.backend.backend() == "tensorflow" \
        else keras_probe.probability_crossentropy
    assert keras_probe.recipe_loss() == expected
