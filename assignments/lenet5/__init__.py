"""Assignment 3: LeNet-5 as in the 1998 paper."""
