"""Assignment 2: the lecture's MNIST ConvNet."""
