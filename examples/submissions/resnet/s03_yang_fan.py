"""
Homework 4: ResNet -- Yang Fan

Written after keras.applications.resnet (ResNet50/101/152 there), with basic
blocks added for ResNet-18/34.
"""

import keras
from keras import layers

BN_AXIS = 3
EPSILON = 1.001e-5


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or "basic_" + str(keras.backend.get_uid("basic"))
    if stride != 1 or x.shape[-1] != filters:
        skip = layers.Conv2D(filters, 1, strides=stride, name=name + "_0_conv")(x)
        skip = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name=name + "_0_bn")(skip)
    else:
        skip = x
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", name=name + "_1_conv")(x)
    x = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=name + "_2_conv")(x)
    x = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name=name + "_2_bn")(x)
    x = layers.Add(name=name + "_add")([skip, x])
    return layers.Activation("relu", name=name + "_out")(x)


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or "block_" + str(keras.backend.get_uid("block"))
    if stride != 1 or x.shape[-1] != 4 * filters:
        skip = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        skip = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name=name + "_0_bn")(skip)
    else:
        skip = x
    x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=name + "_2_conv")(x)
    x = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name=name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name=name + "_3_bn")(x)
    x = layers.Add(name=name + "_add")([skip, x])
    return layers.Activation("relu", name=name + "_out")(x)


def stack(x, block, filters, blocks, stride1, name):
    x = block(x, filters, stride=stride1, name=name + "_block1")
    for i in range(2, blocks + 1):
        x = block(x, filters, name=name + "_block" + str(i))
    return x


def build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000, shortcut="projection"):
    repeats = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}[depth]
    block = basic_block if depth in (18, 34) else bottleneck_block
    img_input = layers.Input(shape=input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=BN_AXIS, epsilon=EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), repeats)):
        x = stack(x, block, filters, blocks, stride1=1 if stage == 0 else 2, name=f"conv{stage + 2}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(img_input, x, name=f"resnet{depth}")
