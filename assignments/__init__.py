"""The course's assignments, one package each: task text, starter, probe and checks."""
