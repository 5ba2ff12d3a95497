"""Assignment 1: convolution and pooling in NumPy."""
