"""Code that runs inside the sandbox, beside the student's module; it imports nothing from the grader."""
