"""Runs inside the sandbox: builds the student's adder, runs their train_adder, predicts hidden pairs."""

import keras_probe


def build(probe):
    keras_probe.describe_phase(probe, "build_adder")


def train(probe):
    from device import describe_device

    probe.record("device", describe_device())
    model = keras_probe.build(probe, "build_adder")
    if model is None:
        return
    images = keras_probe.as_float_images(probe.load_array("public_images"))
    labels = probe.load_array("public_labels").astype("int64")
    with probe.step("train"):
        trained = probe.student.train_adder(model, images, labels)
        if not keras_probe.is_keras_model(trained):
            raise TypeError(f"train_adder() returned {type(trained).__name__}; expected the trained keras.Model")
        trained.save_weights(str(probe.out / "model.weights.h5"))
        probe.record("trained", True)
        # The student's own training curves for the report, where Keras kept them (model.fit does).
        keras_probe.record_history(probe, keras_probe.history_of(trained))


def predict(probe):
    keras_probe.predict_hidden(probe, "build_adder", ["images_a", "images_b"])


PHASES = {"build": build, "train": train, "predict": predict}
