"""What the scoreboard shows, for the CLI and the site alike: ranked final totals and the accuracy boards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from grader.course import Course, FinalGrade, final_grades_of
from grader.leaderboard import BoardEntry, BoardRow, Part, accuracy_board, board_part
from grader.present import ranks
from grader.store import Gradebook
from grader.store.rows import StudentRow


@dataclass(frozen=True)
class Standing:
    """One student's line on the scoreboard, under their pseudonym."""

    rank: int
    """Competition rank of the total: equal totals share a rank."""
    pseudonym: str
    grades: Mapping[str, FinalGrade]
    """Per assignment, the final grade (only the assignments with one)."""
    total: float
    """The sum of the final scores; a grader error adds nothing (and is not a zero: it is regraded)."""


@dataclass(frozen=True)
class AccuracyBoard:
    """One assignment's accuracy leaderboard as it stands now."""

    assignment: str
    part: Part
    """What ranks it: "public" before the due date, "private" after, "all" with no due date."""
    rows: list[BoardRow]


def standings(grades: Sequence[FinalGrade], students: Sequence[StudentRow]) -> list[Standing]:
    """Every student with a final grade, best total first; ties share a rank and are ordered by pseudonym."""
    pseudonyms = {student.id: student.pseudonym for student in students}
    by_student: dict[str, dict[str, FinalGrade]] = {}
    for grade in grades:
        if grade.student_id in pseudonyms:
            by_student.setdefault(grade.student_id, {})[grade.assignment] = grade
    totals = {student: round(sum(g.score or 0.0 for g in mine.values()), 2) for student, mine in by_student.items()}
    students_in_order = sorted(by_student, key=lambda s: (-totals[s], pseudonyms[s]))
    shared = ranks([totals[s] for s in students_in_order])
    return [Standing(rank, pseudonyms[s], by_student[s], totals[s]) for rank, s in zip(shared, students_in_order)]


def accuracy_boards(gradebook: Gradebook, course: Course, now: datetime,
                    grades: Sequence[FinalGrade] | None = None) -> list[AccuracyBoard]:
    """A board for every assignment whose gradings measured an accuracy, on each student's counted
    submission (the course's rule decides which), ranked on the part the due date calls for."""
    grades = final_grades_of(gradebook, course) if grades is None else grades
    pseudonyms = {student.id: student.pseudonym for student in gradebook.students()}
    entries: dict[str, list[BoardEntry]] = {}
    for grade in grades:
        if grade.status != "done" or grade.submission_id is None or grade.student_id not in pseudonyms:
            continue
        measures = next((check.measures for check in gradebook.check_results(grade.submission_id)
                         if check.measures and "correct" in check.measures), None)
        if measures is not None:
            entries.setdefault(grade.assignment, []).append(
                BoardEntry(pseudonyms[grade.student_id], grade.submission_id, measures))
    boards = []
    for assignment, assignment_entries in entries.items():
        part = board_part(course.policy(assignment).due, now)
        boards.append(AccuracyBoard(assignment, part, accuracy_board(assignment_entries, part)))
    return boards
