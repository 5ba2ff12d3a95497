"""
Title: Residual blocks and ResNet-18..152
Assignment: resnet (assignment 4)

Build the two residual blocks of He et al. (2015) and, from them, the ImageNet
ResNets of the paper's table: ResNet-18 and -34 from basic blocks, ResNet-50, -101
and -152 from bottleneck blocks. Nothing is trained: the grader checks shapes,
shortcuts, parameter counts and multiply-adds.

The paper's conventions, which the parameter counts depend on: every convolution
has no bias and is followed by BatchNormalization; a shortcut is the identity when
the shape does not change, and a 1x1 convolution + BN only where it does (option B);
a down-sampling bottleneck puts its stride on the first 1x1 convolution.

Self-check: python -m grader check starter.py --assignment resnet
"""

import keras
import numpy as np
from keras import layers, ops

"""
## The paper's table
"""

# Residual blocks in stages conv2_x, conv3_x, conv4_x and conv5_x.
STAGE_BLOCKS = {
    18: ("basic", (2, 2, 2, 2)),
    # TODO: 34, 50, 101 and 152, from the table in README.md.
}
STAGE_FILTERS = (64, 128, 256, 512)
BOTTLENECK_EXPANSION = 4  # a bottleneck block outputs 4 * filters channels

# Trainable parameters with the paper's conventions, as the grader counts them.
EXPECTED_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}

"""
## Residual blocks
"""


def basic_block(x, filters, stride=1, name=None, shortcut="projection"):
    """Two-layer residual block of ResNet-18/34.

    3x3 conv (stride `stride`) -> BN -> ReLU -> 3x3 conv -> BN, add the shortcut, ReLU.

    Args:
        x: channels-last Keras tensor.
        filters: channels of both convolutions and of the output.
        stride: 1, or 2 to halve the height and width.
        name: prefix for the block's layer names (e.g. f"{name}_1_conv"); with
            None, pick names that cannot clash with another block's.
        shortcut: "projection" (1x1 conv + BN where the shape changes, option B),
            the one graded. "zeros" (option A: subsample, pad channels with
            zeros) is an optional extra.

    Returns:
        Keras tensor with `filters` channels.
    """
    # TODO: convolutions with use_bias=False and padding="same", each followed by
    # BatchNormalization; the shortcut is x itself unless stride or channels change.
    raise NotImplementedError("TODO: basic_block(x, filters, stride=1, name=None, shortcut='projection')")


def bottleneck_block(x, filters, stride=1, name=None, shortcut="projection"):
    """Three-layer residual block of ResNet-50/101/152.

    1x1 conv (stride `stride`) -> BN -> ReLU -> 3x3 conv -> BN -> ReLU
    -> 1x1 conv (4 * filters) -> BN, add the shortcut, ReLU.

    The stride sits on the first 1x1 convolution, as in the paper (the later
    "v1.5" variant moves it to the 3x3 one and misses the paper's multiply-adds).

    Args:
        x: channels-last Keras tensor.
        filters: channels of the 1x1 reduction and the 3x3 convolution.
        stride: 1, or 2 to halve the height and width.
        name: prefix for the block's layer names, as in `basic_block`.
        shortcut: "projection" (graded) or "zeros" (optional), as in `basic_block`.

    Returns:
        Keras tensor with 4 * filters channels.
    """
    # TODO: as basic_block; note that the output may have more channels than x even
    # with stride 1 (the first block of conv2_x goes from 64 to 256).
    raise NotImplementedError("TODO: bottleneck_block(x, filters, stride=1, name=None, shortcut='projection')")


"""
## The whole network
"""


def build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000, shortcut="projection"):
    """The ImageNet ResNet of the paper's table.

    conv1: 7x7 conv, 64, stride 2 (no bias) -> BN -> ReLU; 3x3 max pool, stride 2;
    conv2_x..conv5_x: residual blocks (the first block of conv3_x, conv4_x and
    conv5_x has stride 2); global average pooling; Dense(num_classes, softmax).

    Args:
        depth: 18, 34, 50, 101 or 152.
        input_shape: channels-last shape of one image.
        num_classes: units of the softmax layer.
        shortcut: passed on to every block.

    Returns:
        An uncompiled keras.Model with output (None, num_classes).
    """
    # TODO: use STAGE_BLOCKS and STAGE_FILTERS; give blocks unique names, e.g.
    # f"conv{stage}_block{index}" as keras.applications does.
    raise NotImplementedError("TODO: build_resnet(depth, input_shape=(224, 224, 3), num_classes=1000)")


if __name__ == "__main__":
    for depth, expected in EXPECTED_PARAMS.items():
        model = build_resnet(depth)
        # Keras's count_params() also counts BN's moving mean and variance; the paper does not.
        trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
        print(f"ResNet-{depth}: {trainable:,} trainable parameters, expected {expected:,}; "
              f"output {model.output.shape}")
