"""
Assignment 4: residual blocks and ResNet-18..152
Student: He Jun

Two builders, one per block type: `basic_resnet` for ResNet-18/34 and
`bottleneck_resnet` for ResNet-50/101/152, each with its own head.
"""

import keras
from keras import layers

BASIC_REPEATS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3]}
BOTTLENECK_REPEATS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}
STAGE_FILTERS = [64, 128, 256, 512]


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or f"basic{keras.backend.get_uid('basic')}"
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_1_conv")(x)
    y = layers.BatchNormalization(name=f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    y = layers.BatchNormalization(name=f"{name}_2_bn")(y)
    if stride != 1 or x.shape[-1] != filters:
        x = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_0_bn")(x)
    y = layers.Add(name=f"{name}_add")([x, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    name = name or f"bottleneck{keras.backend.get_uid('bottleneck')}"
    y = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_1_conv")(x)
    y = layers.BatchNormalization(name=f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    y = layers.BatchNormalization(name=f"{name}_2_bn")(y)
    y = layers.Activation("relu", name=f"{name}_2_relu")(y)
    y = layers.Conv2D(4 * filters, 1, use_bias=False, name=f"{name}_3_conv")(y)
    y = layers.BatchNormalization(name=f"{name}_3_bn")(y)
    if stride != 1 or x.shape[-1] != 4 * filters:
        x = layers.Conv2D(4 * filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_0_bn")(x)
    y = layers.Add(name=f"{name}_add")([x, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def stem(inputs):
    x = layers.Conv2D(64, 7, strides=2, padding="same", use_bias=False, name="conv1_conv")(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    return layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)


def stages(x, block, repeats):
    for stage, (filters, count) in enumerate(zip(STAGE_FILTERS, repeats)):
        for i in range(count):
            stride = 2 if i == 0 and stage > 0 else 1
            x = block(x, filters, stride=stride, name=f"conv{stage + 2}_block{i + 1}")
    return x


def basic_resnet(depth, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = stages(stem(inputs), basic_block, BASIC_REPEATS[depth])
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


def bottleneck_resnet(depth, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = stages(stem(inputs), bottleneck_block, BOTTLENECK_REPEATS[depth])
    # 7x7 average pool, as in the paper's table.
    x = layers.AveragePooling2D(7, name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


def build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000, shortcut="projection"):
    if depth in BASIC_REPEATS:
        return basic_resnet(depth, input_shape, num_classes)
    return bottleneck_resnet(depth, input_shape, num_classes)


if __name__ == "__main__":
    for depth in [*BASIC_REPEATS, *BOTTLENECK_REPEATS]:
        model = build_resnet(depth)
        print(depth, model.count_params(), model.output_shape)
