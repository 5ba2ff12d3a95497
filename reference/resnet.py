"""Reference ResNet-18/34/50/101/152 (He et al., 2015) in Keras 3, with the paper's FLOP count."""

import math

import keras
from keras import layers, ops

# Stage conv2_x..conv5_x: blocks per stage, from the paper's architecture table.
STAGE_BLOCKS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
STAGE_FILTERS = (64, 128, 256, 512)
SHORTCUTS = ("projection", "zeros")
BOTTLENECK_EXPANSION = 4

# Same value as keras.applications, so weights and numbers line up with theirs.
BN_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="reference")
class ZeroPadShortcut(layers.Layer):
    """Parameter-free shortcut (the paper's option A).

    Keeps every `stride`-th pixel in both spatial directions and appends
    zero-valued channels up to `channels`. Expects channels-last tensors.
    """

    def __init__(self, channels, stride=1, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.stride = stride

    def call(self, inputs):
        x = inputs[:, :: self.stride, :: self.stride, :]
        extra = self.channels - inputs.shape[-1]
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        # Matches a "same" convolution with this stride: ceil(size / stride).
        height = None if height is None else math.ceil(height / self.stride)
        width = None if width is None else math.ceil(width / self.stride)
        return (batch, height, width, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "stride": self.stride}


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    """Two-layer residual block of ResNet-18/34: 3x3 conv, 3x3 conv, add, ReLU.

    Args:
        x: Channels-last Keras tensor.
        filters: Channels of both convolutions and of the output.
        stride: 1, or 2 to halve the height and width (on the first conv).
        name: Prefix of every layer name; automatic if None.
        shortcut: How the input is added when its shape differs from the
            output: "projection" (1x1 conv + BN, option B) or "zeros"
            (subsample and zero-pad the channels, option A). An input of the
            output's shape is always added unchanged.

    Returns:
        Keras tensor with `filters` channels.
    """
    _check_block_args(filters, stride, shortcut)
    name = name or f"basic_block_{keras.backend.get_uid('basic_block')}"
    residual = _conv_bn(x, filters, 3, stride, f"{name}_1")
    residual = layers.Activation("relu", name=f"{name}_1_relu")(residual)
    residual = _conv_bn(residual, filters, 3, 1, f"{name}_2")
    return _merge(x, residual, stride, name, shortcut)


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    """Three-layer residual block of ResNet-50/101/152: 1x1, 3x3, 1x1 (4x), add, ReLU.

    The stride sits on the first 1x1 convolution, as in the paper (not on
    the 3x3 one, as in the later "v1.5" variant), which is what gives the
    paper's 3.8/7.6/11.3e9 multiply-adds.

    Args:
        x: Channels-last Keras tensor.
        filters: Channels of the 1x1 reduction and the 3x3 convolution; the
            output has 4 * filters channels.
        stride: 1, or 2 to halve the height and width.
        name: Prefix of every layer name; automatic if None.
        shortcut: "projection" or "zeros", as in `basic_block`.

    Returns:
        Keras tensor with 4 * filters channels.
    """
    _check_block_args(filters, stride, shortcut)
    name = name or f"bottleneck_block_{keras.backend.get_uid('bottleneck_block')}"
    residual = _conv_bn(x, filters, 1, stride, f"{name}_1")
    residual = layers.Activation("relu", name=f"{name}_1_relu")(residual)
    residual = _conv_bn(residual, filters, 3, 1, f"{name}_2")
    residual = layers.Activation("relu", name=f"{name}_2_relu")(residual)
    residual = _conv_bn(residual, BOTTLENECK_EXPANSION * filters, 1, 1, f"{name}_3")
    return _merge(x, residual, stride, name, shortcut)


def build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000, shortcut="projection"):
    """ImageNet ResNet of the paper's table: conv1, max pool, conv2_x..conv5_x, average pool, softmax.

    Layers are named like keras.applications.ResNet50: "conv1_conv",
    "pool1_pool", f"conv{stage}_block{i}_..." (stages 2..5, blocks from 1),
    "avg_pool" and "predictions".

    Args:
        depth: 18, 34, 50, 101 or 152.
        input_shape: Channels-last shape of one image.
        num_classes: Units of the softmax layer.
        shortcut: "projection" or "zeros", for the blocks that change shape.

    Returns:
        Uncompiled `keras.Model` named f"resnet{depth}".
    """
    if depth not in STAGE_BLOCKS:
        raise ValueError(
            "Invalid value for argument `depth`. Expected one of "
            f"{', '.join(map(str, STAGE_BLOCKS))}. Received depth={depth!r}."
        )
    if num_classes <= 0:
        raise ValueError(
            "Invalid value for argument `num_classes`. Expected a strictly positive value. "
            f"Received num_classes={num_classes}."
        )
    kind, blocks_per_stage = STAGE_BLOCKS[depth]
    block = basic_block if kind == "basic" else bottleneck_block

    inputs = layers.Input(shape=input_shape, name="input")
    # Explicit symmetric padding + "valid", as keras.applications and the
    # paper's Caffe models do; "same" would pad stride-2 layers on one side only.
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    # Zeros are a safe pad value for max pooling here: the inputs are >= 0 after ReLU.
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

    for stage, (filters, num_blocks) in enumerate(zip(STAGE_FILTERS, blocks_per_stage), start=2):
        for index in range(1, num_blocks + 1):
            # conv2_x is already down-sampled by the max pool.
            stride = 2 if index == 1 and stage > 2 else 1
            x = block(x, filters, stride, name=f"conv{stage}_block{index}", shortcut=shortcut)

    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


def count_multiply_adds(model):
    """Multiply-adds of one forward pass of one example through the Conv2D and Dense layers.

    This is the paper's "FLOPs": batch normalization, pooling, activations
    and additions are left out. Every output value of a layer costs one
    multiply-add per kernel weight that feeds it, i.e. KH*KW*(C_in/groups)
    for a convolution and C_in for a dense layer. Nested models are counted
    too; the model needs a fixed input size.

    Args:
        model: Built `keras.Model`.

    Returns:
        Number of multiply-adds, an int.
    """
    total = 0
    for layer in _flatten(model):
        if not isinstance(layer, (layers.Conv2D, layers.Dense)):
            continue
        output_shape = layer.output.shape[1:]
        if None in output_shape:
            raise ValueError(
                f"Layer '{layer.name}' has output shape {layer.output.shape}; "
                "counting multiply-adds needs a model built with a fixed input shape."
            )
        fan_in = math.prod(layer.kernel.shape[:-1])
        total += math.prod(output_shape) * fan_in
    return total


def _flatten(model):
    """Layers of `model`, with nested models replaced by their own layers."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flatten(layer)
        else:
            yield layer


def _check_block_args(filters, stride, shortcut):
    if filters <= 0:
        raise ValueError(
            "Invalid value for argument `filters`. Expected a strictly positive value. "
            f"Received filters={filters}."
        )
    if stride not in (1, 2):
        raise ValueError(
            f"Invalid value for argument `stride`. Expected 1 or 2. Received stride={stride!r}."
        )
    if shortcut not in SHORTCUTS:
        raise ValueError(
            "Invalid value for argument `shortcut`. Expected one of "
            f"{', '.join(map(repr, SHORTCUTS))}. Received shortcut={shortcut!r}."
        )


def _conv_bn(x, filters, kernel_size, stride, name):
    # No bias: the batch normalization that follows has its own shift (beta).
    x = layers.Conv2D(
        filters, kernel_size, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    return layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)


def _merge(x, residual, stride, name, shortcut):
    """Adds the shortcut of `x` to the residual branch, then applies ReLU."""
    channels = residual.shape[-1]
    if stride == 1 and x.shape[-1] == channels:
        shortcut_x = x
    elif shortcut == "projection":
        shortcut_x = _conv_bn(x, channels, 1, stride, f"{name}_0")
    else:
        if x.shape[-1] > channels:
            raise ValueError(
                f"shortcut='zeros' can only add channels, but block '{name}' goes from "
                f"{x.shape[-1]} to {channels} channels. Use shortcut='projection'."
            )
        shortcut_x = ZeroPadShortcut(channels, stride, name=f"{name}_0_zeropad")(x)
    x = layers.Add(name=f"{name}_add")([shortcut_x, residual])
    return layers.Activation("relu", name=f"{name}_out")(x)
