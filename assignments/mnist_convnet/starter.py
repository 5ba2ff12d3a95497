"""
Title: The lecture's MNIST ConvNet
Assignment: mnist_convnet (assignment 2)

Build the small ConvNet from the lecture in Keras: two 5x5 "same" convolutions,
each followed by ReLU and 2x2 max pooling, then Dense 512 + ReLU, dropout, and a
10-way softmax. The grader finds layers by name (conv1, conv2, fc1, fc2), so keep
the names below.

You only write `build_model()`. The grader compiles and trains your model itself
with the course recipe (the constants below), then scores it on digits you never see.

Self-check: python -m grader check starter.py --assignment mnist_convnet
"""

import keras
import numpy as np
from keras import layers

"""
## Prepare the data

The grader feeds MNIST digits as float32 arrays of shape (N, 28, 28, 1), scaled
to the [0, 1] range, with integer labels 0..9.
"""

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

# The course recipe. The grader uses these values whatever you write here:
# they are copied so that you can train exactly as it does.
EPOCHS = 15
BATCH_SIZE = 64
LEARNING_RATE = 2e-3

"""
## Build the model
"""


def build_model() -> keras.Model:
    """Builds the lecture's ConvNet: (None, 28, 28, 1) in, (None, 10) softmax probabilities out.

    Layers, in order (the grader checks the ones marked *):
        conv1*  Conv2D, 4 filters 5x5, padding="same", ReLU   -> (None, 28, 28, 4),   104 params
        pool1   MaxPooling2D 2x2                              -> (None, 14, 14, 4)
        conv2*  Conv2D, 8 filters 5x5, padding="same", ReLU   -> (None, 14, 14, 8),   808 params
        pool2   MaxPooling2D 2x2                              -> (None, 7, 7, 8)
        flatten Flatten                                       -> (None, 392)
        fc1*    Dense 512, ReLU                               -> (None, 512),     201,216 params
        dropout Dropout
        fc2*    Dense 10, softmax                             -> (None, 10),        5,130 params
    207,258 trainable parameters in all.
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    # TODO: the layers above, each created with name="..." so the grader can find it.
    # The lecture ends in log-softmax (PyTorch); here fc2 ends in softmax, because the
    # grader trains with sparse categorical cross-entropy on probabilities.
    raise NotImplementedError("TODO: build_model(): conv1, pool1, conv2, pool2, flatten, fc1, dropout, fc2")


"""
## Train with the course recipe

This is what the grader does with your model (you do not need to submit it):
Adam, a learning rate that decays from LEARNING_RATE to 0 along a cosine over all
steps, sparse categorical cross-entropy, EPOCHS epochs of BATCH_SIZE digits.
"""


def train_like_the_grader(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> keras.Model:
    steps = EPOCHS * -(-len(images) // BATCH_SIZE)  # ceil: the last batch of an epoch may be short
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(images, labels, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=2)
    return model


if __name__ == "__main__":
    model = build_model()
    model.summary()

    # Train on 8,000 digits and test on 2,000, the sizes of the grader's MNIST sample.
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train[:8000, :, :, None].astype("float32") / 255.0
    x_test = x_test[:2000, :, :, None].astype("float32") / 255.0
    train_like_the_grader(model, x_train, y_train[:8000])
    accuracy = (model.predict(x_test, verbose=0).argmax(axis=1) == y_test[:2000]).mean()
    print(f"Accuracy on 2,000 test digits: {accuracy:.2%} (full points from 97.0% on the sample)")
