"""Runs inside the sandbox: builds the student's blocks and ResNets and describes them."""

import keras_probe

DEPTHS = (18, 34, 50, 101, 152)
# (block function, input shape, filters, stride): stride 1 with matching channels keeps the
# identity shortcut; stride 2 and a channel change need the projection.
BLOCKS = {
    "basic_identity": ("basic_block", (8, 8, 16), 16, 1),
    "basic_downsample": ("basic_block", (8, 8, 16), 32, 2),
    "bottleneck_identity": ("bottleneck_block", (8, 8, 64), 16, 1),
    "bottleneck_downsample": ("bottleneck_block", (8, 8, 64), 32, 2),
    "bottleneck_widen": ("bottleneck_block", (8, 8, 16), 16, 1),
}
ZEROED = {"basic_zeroed": ("basic_block", (8, 8, 16), 16), "bottleneck_zeroed": ("bottleneck_block", (8, 8, 16), 4)}


def block_model(function, shape, filters, stride, name):
    import keras

    inputs = keras.Input(shape)
    return keras.Model(inputs, function(inputs, filters, stride=stride, name=name))


def build(probe):
    import keras
    import numpy as np

    from device import describe_device

    probe.record("device", describe_device())
    keras.utils.set_random_seed(0)
    for key, (function, shape, filters, stride) in BLOCKS.items():
        with probe.step(key):
            probe.record(key, keras_probe.describe_model(
                block_model(getattr(probe.student, function), shape, filters, stride, key)))
    x = probe.load_array("block_input")
    for key, (function, shape, filters) in ZEROED.items():
        with probe.step(key):
            model = block_model(getattr(probe.student, function), shape, filters, 1, key)
            for layer in model.layers:
                if "Conv" in type(layer).__name__:
                    for weight in layer.weights:
                        weight.assign(np.zeros(weight.shape, dtype=weight.dtype))
            probe.save_array(key, model.predict(x, verbose=0))
            probe.record(key, True)
    for depth in DEPTHS:
        with probe.step(f"resnet{depth}"):
            probe.record(f"resnet{depth}", keras_probe.describe_model(probe.student.build_resnet(depth)))
            keras.backend.clear_session()  # ResNet-152 alone holds 60 M weights
    with probe.step("resnet18_small"):
        model = probe.student.build_resnet(18, input_shape=(64, 64, 3), num_classes=10)
        probe.record("resnet18_small", keras_probe.describe_model(model))


PHASES = {"build": build}
