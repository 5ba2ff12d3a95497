"""Homework 4 -- Song Yi. ResNet blocks and the five ImageNet ResNets."""

import keras
from keras import layers

BLOCKS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or f"basic_{keras.backend.get_uid('basic')}"
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name + "_conv1")(x)
    x = layers.BatchNormalization(name=name + "_bn1")(x)
    x = layers.Activation("relu", name=name + "_relu1")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_conv2")(x)
    x = layers.BatchNormalization(name=name + "_bn2")(x)
    return layers.Activation("relu", name=name + "_relu2")(x)


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or f"bottleneck_{keras.backend.get_uid('bottleneck')}"
    x = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_conv1")(x)
    x = layers.BatchNormalization(name=name + "_bn1")(x)
    x = layers.Activation("relu", name=name + "_relu1")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_conv2")(x)
    x = layers.BatchNormalization(name=name + "_bn2")(x)
    x = layers.Activation("relu", name=name + "_relu2")(x)
    x = layers.Conv2D(4 * filters, 1, use_bias=False, name=name + "_conv3")(x)
    x = layers.BatchNormalization(name=name + "_bn3")(x)
    return layers.Activation("relu", name=name + "_relu3")(x)


def build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000, shortcut="projection"):
    block = basic_block if depth < 50 else bottleneck_block
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(64, 7, strides=2, padding="same", use_bias=False, name="conv1")(inputs)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.Activation("relu", name="relu1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for stage, n in enumerate(BLOCKS[depth]):
        for i in range(n):
            stride = 2 if (i == 0 and stage > 0) else 1
            x = block(x, 64 * 2 ** stage, stride, name=f"conv{stage + 2}_{i + 1}")
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))
