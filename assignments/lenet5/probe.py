"""Runs inside the sandbox: builds, probes C3's connections, trains and runs the student's LeNet-5."""

import keras_probe

PAD = 2  # MNIST's 28x28 digits padded to the paper's 32x32


def build(probe):
    model = keras_probe.describe_phase(probe, "build_lenet5")
    if model is not None:
        with probe.step("c3_reacts"):
            probe.record("c3_reacts", c3_reactions(model))


def c3_reactions(model) -> list[list[bool]]:
    """reacts[i][j]: does C3 map j change when only S2 map i changes?"""
    import numpy as np
    from keras import ops

    layer = model.get_layer("c3")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 14, 14, 6)).astype("float32")
    base = ops.convert_to_numpy(layer(x))
    reacts = []
    for i in range(6):
        nudged = x.copy()
        nudged[..., i] += rng.normal(size=(1, 14, 14)).astype("float32")
        change = np.abs(ops.convert_to_numpy(layer(nudged)) - base).max(axis=(0, 1, 2))
        reacts.append([bool(c > 1e-6) for c in change])
    return reacts


def train(probe):
    keras_probe.train_with_recipe(probe, "build_lenet5", pad=PAD)


def predict(probe):
    keras_probe.predict_hidden(probe, "build_lenet5", ["hidden_images"], pad=PAD)


PHASES = {"build": build, "train": train, "predict": predict}
