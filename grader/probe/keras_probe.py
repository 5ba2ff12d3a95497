"""Describes a student's Keras model as plain data: layers, shapes, parameters, configuration."""

import contextlib
import math

REPORT_LAYERS = 12
"""Convolution and pooling layers whose feature maps the report shows, at most; REPORT_MAPS maps of
each, at most REPORT_SIDE x REPORT_SIDE (larger maps are subsampled)."""
REPORT_MAPS = 16
REPORT_SIDE = 64
KERNEL_SIDE = 16
"""The first convolution's kernels the report shows: at most KERNEL_SIDE x KERNEL_SIDE, the first
KERNEL_INPUTS input channels and the first KERNELS kernels."""
KERNEL_INPUTS = 4
KERNELS = 64
SMALLEST_NORMAL_FLOAT32 = 1.1754944e-38
"""The recipe's cross-entropy floors the right class's probability here (see probability_crossentropy)."""
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
MAX_EPOCHS = 1000
"""Epochs of history kept, at most."""
SPATIAL_KINDS = ("Conv", "Pool")
"""Keras layer classes whose names hold these are the report's convolution and pooling layers;
the student's own layer classes with a (batch, height, width, maps) output are too (LeNet-5's C3, S2)."""

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


def probability_crossentropy(labels, probabilities):
    """Sparse categorical cross-entropy of output probabilities, with the gradient of the logits'
    cross-entropy (probabilities - one-hot) on every backend, however small the right class's share.

    Keras's own loss recovers the softmax's logits on TensorFlow only; on JAX and PyTorch it clips the
    probabilities to [1e-7, 1 - 1e-7], which cuts the gradient of every digit the model gives less
    than 1e-7 to. An RBF output's softmax(-distance) gets there within the first epoch (distances
    are tens apart), so LeNet-5 learned nothing on JAX (10%, one class). Here only the right class's
    probability is floored, at float32's smallest normal number, which softmax reaches only ~87
    nats away from the best class."""
    from keras import ops

    probabilities = ops.cast(probabilities, "float32")
    probabilities = probabilities / ops.sum(probabilities, axis=-1, keepdims=True)
    labels = ops.reshape(ops.cast(labels, "int32"), (-1, 1))
    picked = ops.take_along_axis(probabilities, labels, axis=-1)[:, 0]
    return -ops.log(ops.maximum(picked, SMALLEST_NORMAL_FLOAT32))


def recipe_loss():
    """The recipe's loss on this backend: on TensorFlow, Keras's own (its fused logits path is the
    fastest there, ~12% of a ConvNet's training, and it is what every earlier grading trained with);
    elsewhere probability_crossentropy, since Keras's clips the gradient away."""
    import keras

    return "sparse_categorical_crossentropy" if keras.backend.backend() == "tensorflow" else probability_crossentropy


def train_with_recipe(probe, builder: str, pad: int = 0):
    """Trains the student's model with the course's fixed recipe on the training digits, with the
    held-out validation digits for the learning curves; saves the weights and the history."""
    import keras

    from device import describe_device

    probe.record("device", describe_device())
    model = build(probe, builder)
    if model is None:
        return
    recipe = probe.args["recipe"]
    images, labels = as_float_images(probe.load_array("public_images"), pad), probe.load_array("public_labels")
    validation = None
    if (probe.inputs / "validation_images.npy").exists():
        validation = (as_float_images(probe.load_array("validation_images"), pad),
                      probe.load_array("validation_labels"))
    with probe.step("train"):
        steps = recipe["epochs"] * -(-len(images) // recipe["batch_size"])
        schedule = keras.optimizers.schedules.CosineDecay(recipe["learning_rate"], steps)
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=recipe_loss(),
                      metrics=["accuracy"])
        history = model.fit(images, labels, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                            validation_data=validation, verbose=0)
        record_history(probe, history.history)
        probe.record("train_size", int(len(images)))
        probe.record("validation_size", 0 if validation is None else int(len(validation[1])))
        model.save_weights(str(probe.out / "model.weights.h5"))
        probe.record("trained", True)


def record_history(probe, history) -> None:
    """Records Keras's per-epoch history (model.fit(...).history, or model.history.history after the
    student's own training): loss and accuracy, with validation where there was some. Anything else
    is left out, and so is a curve of anything but numbers; NaN stays NaN (training diverged). Never
    raises: the weights are saved by then."""
    if not isinstance(history, dict):
        return
    kept = {}
    for key in HISTORY_KEYS:
        values = history.get(key)
        if isinstance(values, (list, tuple)) and values:
            try:
                kept[key] = [float(v) for v in values[:MAX_EPOCHS]]
            except (TypeError, ValueError):
                continue
    if kept:
        probe.record("history", kept)


def history_of(model):
    """The history dict Keras keeps on a model after fit (model.history.history), or None."""
    history = getattr(model, "history", None)
    return getattr(history, "history", None)


def predict_hidden(probe, builder: str, inputs: list[str], pad: int = 0):
    """Rebuilds the student's model, loads the trained weights, predicts the hidden images (no labels
    here); then what the report shows of it (see report_views)."""
    model = build(probe, builder)
    if model is None:
        return
    with probe.step("predict"):
        model.load_weights(str(probe.inputs / "model.weights.h5"))
        arrays = [as_float_images(probe.load_array(name), pad) for name in inputs]
        predictions = model.predict(arrays if len(arrays) > 1 else arrays[0], batch_size=500, verbose=0)
        probe.save_array("predictions", predictions)
        probe.record("predicted", int(len(predictions)))
    if not probe.failed("predict"):
        report_views(probe, model, pad)


@contextlib.contextmanager
def report_step(probe, name: str):
    """A step of the report's views: a failure is recorded under "report_problems" for the report to
    say, never among the student's errors (their model predicted the hidden digits already)."""
    import time

    start = time.perf_counter()
    try:
        yield
    except Exception as error:  # the report shows what it can; the grade does not depend on it
        problems = probe.observations.setdefault("report_problems", {})
        problems[name] = f"{type(error).__name__}: {str(error)[:300]}"
    finally:
        probe.observations["seconds"][f"report_{name}"] = round(time.perf_counter() - start, 3)


def report_views(probe, model, pad: int = 0):
    """The trained first convolution's kernels, the feature maps of the report's two digits, and
    the predictions on the transformed hidden digits, where the phase's inputs hold them."""
    with report_step(probe, "kernels"):
        save_kernels(probe, model)
    if (probe.inputs / "report_digits.npy").exists():
        with report_step(probe, "feature_maps"):
            save_feature_maps(probe, model, as_float_images(probe.load_array("report_digits"), pad))
    if (probe.inputs / "robustness_images.npy").exists():
        with report_step(probe, "robustness"):
            images = as_float_images(probe.load_array("robustness_images"), pad)
            predictions = model.predict(images, batch_size=500, verbose=0)
            probe.save_array("robustness_predictions", predictions)
            probe.record("robustness_predicted", int(len(predictions)))


def all_layers(container):
    """Every layer, nested models' layers after the model that holds them, in order."""
    for layer in container.layers:
        yield layer
        if hasattr(layer, "layers") and layer is not container:
            yield from all_layers(layer)


def save_kernels(probe, model):
    """The first layer with a 4-D kernel (height, width, inputs, kernels): kernels.npy, cropped to the
    report's bounds, and its name and full shape."""
    import numpy as np
    from keras import ops

    for layer in all_layers(model):
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and len(getattr(kernel, "shape", ())) == 4:
            values = np.asarray(ops.convert_to_numpy(kernel), dtype="float32")
            probe.save_array("kernels", values[:KERNEL_SIDE, :KERNEL_SIDE, :KERNEL_INPUTS, :KERNELS])
            probe.record("kernel_layer", {"name": layer.name, "shape": [int(d) for d in values.shape]})
            return
    probe.record("kernel_layer", None)


def spatial_layers(model):
    """The model's own convolution and pooling layers (not those of nested models), in order, at most
    REPORT_LAYERS of them: Keras's by class name, the student's own classes by their 4-D output."""
    chosen = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except Exception:  # a layer called several times, or a subclassed model: no single output
            continue
        kind = type(layer).__name__
        own = not type(layer).__module__.startswith("keras")
        if len(shape) == 4 and (own or any(part in kind for part in SPATIAL_KINDS)) and kind != "InputLayer":
            chosen.append(layer)
    return chosen[:REPORT_LAYERS]


def model_input(model):
    """The model's input in the structure it was built with (one tensor, a list, a dict).

    A functional model has it as `model.input`; a Sequential model built from keras.Input raises
    there ("has never been called") though its `inputs` list is defined.
    """
    try:
        return model.input
    except (AttributeError, ValueError):
        return model.inputs[0] if len(model.inputs) == 1 else list(model.inputs)


def save_feature_maps(probe, model, digits):
    """feature_maps_<i>.npy: layer i's activations for the report's digits, (2, height, width, maps),
    the first REPORT_MAPS maps, subsampled to at most REPORT_SIDE a side; the layers' names alongside."""
    import keras
    import numpy as np
    from keras import ops

    if not getattr(model, "inputs", None):
        raise ValueError("the model is a subclassed keras.Model, whose layers' outputs cannot be read one by one")
    layers = spatial_layers(model)
    described = []
    if layers:
        structure = model_input(model)
        reader = keras.Model(structure, [layer.output for layer in layers])
        feeds = ([digits] * len(structure) if isinstance(structure, (list, tuple))
                 else {key: digits for key in structure} if isinstance(structure, dict) else digits)
        outputs = reader(feeds, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for index, (layer, output) in enumerate(zip(layers, outputs)):
            values = np.asarray(ops.convert_to_numpy(output), dtype="float32")
            step = max(1, -(-max(values.shape[1:3]) // REPORT_SIDE))
            probe.save_array(f"feature_maps_{index}", values[:, ::step, ::step, :REPORT_MAPS])
            described.append({"layer": layer.name, "kind": type(layer).__name__, "maps": int(values.shape[-1])})
    probe.record("feature_maps", described)
