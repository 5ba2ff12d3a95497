"""The course in effect for a configuration: `--course`, GRADER_COURSE or the root's course.toml, else none."""

from __future__ import annotations

from grader.config import Config
from grader.course.policy import Course, course_path, load_course


def course_of(config: Config) -> Course:
    """The course policy `config` names (Config.course_file, read from --course or GRADER_COURSE), else
    course.toml at the repository root when there is one; no course file: no deadlines (NO_COURSE)."""
    return load_course(course_path(config.course_file, {}))
