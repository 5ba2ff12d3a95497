"""Describes a student's Keras model as plain data: layers, shapes, parameters, configuration."""

import math

CONFIG_KEYS = ("activation", "filters", "kernel_size", "strides", "padding", "dilation_rate", "groups",
               "pool_size", "units", "rate", "use_bias")


def count(weights) -> int:
    # From the variables' shapes, not Layer.count_params(), which a submission can replace.
    return int(sum(math.prod(int(d) for d in w.shape) for w in weights))


def shape_of(tensor_or_list):
    if isinstance(tensor_or_list, (list, tuple)):
        return [shape_of(t) for t in tensor_or_list]
    return [None if d is None else int(d) for d in tensor_or_list.shape]


def describe_layer(layer, prefix: str = "") -> dict:
    info = {
        "name": prefix + layer.name,
        "class": type(layer).__name__,
        "trainable_params": count(layer.trainable_weights),
        "non_trainable_params": count(layer.non_trainable_weights),
        "output_shape": None,
        "input_shape": None,
        "kernel_shape": None,
        "config": {},
    }
    try:
        info["output_shape"] = shape_of(layer.output)
        info["input_shape"] = shape_of(layer.input)
    except Exception:  # a layer called several times has no single output; shapes stay unknown
        pass
    kernel = getattr(layer, "kernel", None)
    if kernel is not None and hasattr(kernel, "shape"):
        info["kernel_shape"] = [int(d) for d in kernel.shape]
    try:
        config = layer.get_config()
    except Exception:  # custom layers without get_config are allowed
        config = {}
    for key in CONFIG_KEYS:
        if key in config:
            value = config[key]
            info["config"][key] = value if isinstance(value, (int, float, str, list, tuple, bool, type(None))) else repr(value)
    return info


def describe_model(model) -> dict:
    """Model inputs/outputs and every layer, nested models flattened as 'outer/inner'."""
    layers = []

    def walk(container, prefix):
        for layer in container.layers:
            layers.append(describe_layer(layer, prefix))
            if hasattr(layer, "layers") and layer is not container:
                walk(layer, prefix + layer.name + "/")

    walk(model, "")
    return {
        "class": type(model).__name__,
        "input_shapes": shape_of(model.inputs),
        "output_shapes": shape_of(model.outputs),
        "trainable_params": count(model.trainable_weights),
        "non_trainable_params": count(model.non_trainable_weights),
        "layers": layers,
    }


def is_keras_model(value) -> bool:
    import keras

    return isinstance(value, keras.Model)


def as_float_images(images, pad: int = 0):
    """uint8 (N, 28, 28) -> float32 (N, 28 + 2 pad, 28 + 2 pad, 1) in [0, 1], what the course's models read."""
    import numpy as np

    images = images.astype("float32")[..., None] / 255.0
    return np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else images


def build(probe, builder: str):
    """Calls the student's builder, checks it returns a Keras model; None (and a recorded error) otherwise."""
    import keras

    keras.utils.set_random_seed(probe.args.get("seed", 0))
    with probe.step(builder):
        model = getattr(probe.student, builder)()
        if not is_keras_model(model):
            raise TypeError(f"{builder}() returned {type(model).__name__}; expected a keras.Model")
        return model
    return None


def describe_phase(probe, builder: str, key: str = "model"):
    """The build phase of a model assignment: describe the model and run it on the grader's probe inputs."""
    from device import describe_device

    probe.record("device", describe_device())
    model = build(probe, builder)
    if model is None:
        return None
    with probe.step(builder):
        probe.record(key, describe_model(model))
    if "probe_inputs" in probe.args:
        with probe.step("forward"):
            inputs = [probe.load_array(name) for name in probe.args["probe_inputs"]]
            outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
            probe.save_array("probe_outputs", outputs)
            probe.record("forward", list(outputs.shape))
    return model


def train_with_recipe(probe, builder: str, pad: int = 0):
    """Trains the student's model with the course's fixed recipe on the public split; saves the weights."""
    import keras

    from device import describe_device

    probe.record("device", describe_device())
    model = build(probe, builder)
    if model is None:
        return
    recipe = probe.args["recipe"]
    images, labels = as_float_images(probe.load_array("public_images"), pad), probe.load_array("public_labels")
    with probe.step("train"):
        steps = recipe["epochs"] * -(-len(images) // recipe["batch_size"])
        schedule = keras.optimizers.schedules.CosineDecay(recipe["learning_rate"], steps)
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")
        history = model.fit(images, labels, epochs=recipe["epochs"], batch_size=recipe["batch_size"], verbose=0)
        probe.record("train_loss", [float(v) for v in history.history["loss"]])
        model.save_weights(str(probe.out / "model.weights.h5"))
        probe.record("trained", True)


def predict_hidden(probe, builder: str, inputs: list[str], pad: int = 0):
    """Rebuilds the student's model, loads the trained weights, predicts the hidden images (no labels here)."""
    model = build(probe, builder)
    if model is None:
        return
    with probe.step("predict"):
        model.load_weights(str(probe.inputs / "model.weights.h5"))
        arrays = [as_float_images(probe.load_array(name), pad) for name in inputs]
        predictions = model.predict(arrays if len(arrays) > 1 else arrays[0], batch_size=500, verbose=0)
        probe.save_array("predictions", predictions)
        probe.record("predicted", int(len(predictions)))
