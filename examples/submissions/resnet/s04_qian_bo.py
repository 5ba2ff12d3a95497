"""
Homework 4 -- Qian Bo

Blocks as in torchvision's resnet.py (Bottleneck puts the stride on the 3x3
convolution, "ResNet V1.5", which they say is a bit more accurate), ported to Keras.
"""

import keras
from keras import layers

LAYERS = {
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
    101: ("bottleneck", [3, 4, 23, 3]),
    152: ("bottleneck", [3, 8, 36, 3]),
}


class Namer:
    """Hands out unique layer names inside one block: prefix_conv1, prefix_bn1, ..."""

    def __init__(self, prefix):
        self.prefix = prefix

    def __call__(self, what):
        return f"{self.prefix}_{what}"


def conv3x3(filters, stride, name):
    return layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name)


def conv1x1(filters, stride, name):
    return layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name)


def downsample(x, channels, stride, n):
    if stride == 1 and x.shape[-1] == channels:
        return x
    x = conv1x1(channels, stride, n("downsample_conv"))(x)
    return layers.BatchNormalization(name=n("downsample_bn"))(x)


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    n = Namer(name or f"basic{keras.backend.get_uid('basic')}")
    identity = downsample(x, filters, stride, n)
    out = layers.ReLU(name=n("relu1"))(layers.BatchNormalization(name=n("bn1"))(conv3x3(filters, stride, n("conv1"))(x)))
    out = layers.BatchNormalization(name=n("bn2"))(conv3x3(filters, 1, n("conv2"))(out))
    return layers.ReLU(name=n("relu2"))(layers.Add(name=n("add"))([out, identity]))


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    n = Namer(name or f"bottleneck{keras.backend.get_uid('bottleneck')}")
    identity = downsample(x, 4 * filters, stride, n)
    out = layers.ReLU(name=n("relu1"))(layers.BatchNormalization(name=n("bn1"))(conv1x1(filters, 1, n("conv1"))(x)))
    out = layers.ReLU(name=n("relu2"))(layers.BatchNormalization(name=n("bn2"))(conv3x3(filters, stride, n("conv2"))(out)))
    out = layers.BatchNormalization(name=n("bn3"))(conv1x1(4 * filters, 1, n("conv3"))(out))
    return layers.ReLU(name=n("relu3"))(layers.Add(name=n("add"))([out, identity]))


def build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000, shortcut="projection"):
    kind, counts = LAYERS[depth]
    block = basic_block if kind == "basic" else bottleneck_block
    x = inputs = keras.Input(input_shape)
    x = layers.Conv2D(64, 7, strides=2, padding="same", use_bias=False, name="conv1")(x)
    x = layers.ReLU(name="relu")(layers.BatchNormalization(name="bn1")(x))
    x = layers.MaxPooling2D(3, 2, padding="same", name="maxpool")(x)
    for index, (planes, count) in enumerate(zip((64, 128, 256, 512), counts), start=1):
        for b in range(count):
            x = block(x, planes, 2 if (b == 0 and index > 1) else 1, name=f"layer{index}_{b}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax", name="fc")(x), name=f"resnet{depth}")
