"""Assignment 4: residual blocks and ResNet-18..152."""
