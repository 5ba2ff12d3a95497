"""Homework 4 -- Han Xue. The two residual blocks (build_resnet: not done yet)."""

import keras
from keras import layers


def conv_bn(x, filters, size, stride, name):
    x = layers.Conv2D(filters, size, strides=stride, padding="same", use_bias=False, name=name + "_conv")(x)
    return layers.BatchNormalization(name=name + "_bn")(x)


def project(x, channels, stride, name):
    if stride == 1 and x.shape[-1] == channels:
        return x
    return conv_bn(x, channels, 1, stride, name + "_shortcut")


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or f"basic_{keras.backend.get_uid('hx_basic')}"
    r = layers.Activation("relu")(conv_bn(x, filters, 3, stride, name + "_1"))
    r = conv_bn(r, filters, 3, 1, name + "_2")
    return layers.Activation("relu")(layers.Add()([project(x, filters, stride, name), r]))


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or f"bottleneck_{keras.backend.get_uid('hx_bottleneck')}"
    r = layers.Activation("relu")(conv_bn(x, filters, 1, stride, name + "_1"))
    r = layers.Activation("relu")(conv_bn(r, filters, 3, 1, name + "_2"))
    r = conv_bn(r, 4 * filters, 1, 1, name + "_3")
    return layers.Activation("relu")(layers.Add()([project(x, 4 * filters, stride, name), r]))


# TODO build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000)
