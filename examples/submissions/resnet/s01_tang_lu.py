"""
Assignment 4: residual blocks and ResNet-18..152
Student: Tang Lu

One helper, `conv_bn`, makes every "convolution without bias + batch norm (+ ReLU)"
unit; the blocks are short lists of such units; build_resnet reads the depth's
stage configuration from a dict and loops over it.
"""

import keras
from keras import layers

CONFIGS = {
    18: {"block": "basic", "repeats": [2, 2, 2, 2]},
    34: {"block": "basic", "repeats": [3, 4, 6, 3]},
    50: {"block": "bottleneck", "repeats": [3, 4, 6, 3]},
    101: {"block": "bottleneck", "repeats": [3, 4, 23, 3]},
    152: {"block": "bottleneck", "repeats": [3, 8, 36, 3]},
}
WIDTHS = [64, 128, 256, 512]
EXPANSION = 4


def _prefix(name, kind):
    return name if name else f"{kind}{keras.backend.get_uid(kind)}"


def conv_bn(x, filters, kernel_size, stride, name, relu=True):
    x = layers.Conv2D(filters, kernel_size, strides=stride, padding="same", use_bias=False, name=name + "_conv")(x)
    x = layers.BatchNormalization(name=name + "_bn")(x)
    if relu:
        x = layers.ReLU(name=name + "_relu")(x)
    return x


def shortcut_branch(x, channels, stride, name):
    """The input itself when the shape stays; else a strided 1x1 projection (option B)."""
    if stride == 1 and x.shape[-1] == channels:
        return x
    return conv_bn(x, channels, 1, stride, name + "_proj", relu=False)


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = _prefix(name, "basic")
    y = conv_bn(x, filters, 3, stride, name + "_a")
    y = conv_bn(y, filters, 3, 1, name + "_b", relu=False)
    y = layers.add([y, shortcut_branch(x, filters, stride, name)], name=name + "_add")
    return layers.ReLU(name=name + "_out")(y)


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = _prefix(name, "bottleneck")
    # The paper puts the stride on the first 1x1 convolution.
    y = conv_bn(x, filters, 1, stride, name + "_reduce")
    y = conv_bn(y, filters, 3, 1, name + "_3x3")
    y = conv_bn(y, EXPANSION * filters, 1, 1, name + "_expand", relu=False)
    y = layers.add([y, shortcut_branch(x, EXPANSION * filters, stride, name)], name=name + "_add")
    return layers.ReLU(name=name + "_out")(y)


def build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000, shortcut="projection"):
    config = CONFIGS[depth]
    block = basic_block if config["block"] == "basic" else bottleneck_block

    images = keras.Input(shape=input_shape)
    x = conv_bn(images, 64, 7, 2, "stem")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, (width, repeats) in enumerate(zip(WIDTHS, config["repeats"])):
        for i in range(repeats):
            first_of_later_stage = i == 0 and stage > 0
            x = block(x, width, stride=2 if first_of_later_stage else 1, name=f"stage{stage + 2}_unit{i + 1}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    probabilities = layers.Dense(num_classes, activation="softmax", name="fc")(x)
    return keras.Model(images, probabilities, name=f"resnet{depth}")


if __name__ == "__main__":
    for depth in CONFIGS:
        print(depth, build_resnet(depth).count_params())
