"""The course around the grader: course.toml's windows, late policy and extensions, and final grades."""

from grader.course.deadlines import (Lateness, close_for, daily_limit_refusal, day_start, due_for, lateness,
                                     lateness_of, local_text, released, window_refusal)
from grader.course.final import Excluded, FinalGrade, final_grades, final_grades_of
from grader.course.policy import (NO_COURSE, AssignmentPolicy, Course, CourseError, course_path, load_course,
                                  parse_course)

__all__ = [
    "AssignmentPolicy", "Course", "CourseError", "Excluded", "FinalGrade", "Lateness", "NO_COURSE",
    "close_for", "course_path", "daily_limit_refusal", "day_start", "due_for", "final_grades", "final_grades_of", "lateness",
    "lateness_of", "load_course", "local_text", "parse_course", "released", "window_refusal",
]
