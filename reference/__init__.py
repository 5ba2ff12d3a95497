"""Model answers of the course's assignments, one module per assignment."""
