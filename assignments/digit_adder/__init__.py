"""Assignment 5 (homework): the handwritten digit adder."""
