"""The instructor page through AppTest: final grades, history, revert and regrades, extensions, exports."""

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from grader.intake import Artifact
from grader.pictures.draw import draw
from grader.pictures.page import NO_FIGURES
from grader.store import Gradebook
from tests.site.conftest import IMG_FILENAME, IMG_LAYER, REPO_ROOT, SCRIPT_NAME, report, report_figures

PASSWORD = "pw"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 11, 30, 23, 59, tzinfo=SHANGHAI)
FILE_EXTENSION = datetime(2026, 12, 5, 23, 59, tzinfo=SHANGHAI)
COURSE = f"""
timezone = "Asia/Shanghai"

[assignments.conv_ops]
due = "{DUE.isoformat()}"
late_penalty_per_day = 0.10

[extensions]
s002 = {{ conv_ops = "{FILE_EXTENSION.isoformat()}" }}
"""
STRIDE = "conv2d: stride and padding"  # conv_ops's second check, 3 points
GROUPS = "conv2d: groups"              # its sixth, 2 points


@dataclass
class Class:
    """The gradebook the page reads, and the submission ids per (student, assignment)."""

    gradebook: Gradebook
    submissions: dict[tuple[str, str], int] = field(default_factory=dict)
    gradings: dict[str, int] = field(default_factory=dict)
    """Grading ids of s001's conv_ops submission: "first" (groups failed) and "second" (all passed)."""


def submit(gradebook: Gradebook, student: str, assignment: str, when: datetime, filename: str = "") -> int:
    artifact = Artifact.of(filename or f"{assignment}.py", f"# {student} {assignment} {when}\n".encode())
    submission_id, _ = gradebook.add_submission(student, assignment, artifact, submitted_at=when,
                                                time_source="received")
    return submission_id


@pytest.fixture
def course_file(site_env, course):
    """This file's course.toml, where GRADER_COURSE points (set after site_env has cleared it)."""
    return course(COURSE)


@pytest.fixture
def school(empty_gradebook, course_file) -> Class:
    """s001: on time, graded twice (a regrade fixed the groups check); s002: late but inside course.toml's
    extension, and a lenet5 the grader failed on; s003 (named like a script tag, with a file named like an
    img tag): late by 1 day 3 h."""
    gradebook = empty_gradebook
    school = Class(gradebook)
    for student, name in (("s001", "Ada Lovelace"), ("s002", "Alan Turing"), ("s003", SCRIPT_NAME)):
        gradebook.ensure_student(student, name)

    first = submit(gradebook, "s001", "conv_ops", DUE - timedelta(hours=2))
    school.gradings["first"] = gradebook.record_report(first, report("conv_ops", {5: 0.0}, seconds=10.0))
    school.gradings["second"] = gradebook.record_report(
        first, replace(report("conv_ops", {}, seconds=11.0), grader_version="test-v2"))
    school.submissions["s001", "conv_ops"] = first

    late = submit(gradebook, "s002", "conv_ops", DUE + timedelta(days=3))
    gradebook.record_report(late, report("conv_ops", {1: 0.0, 5: 0.0}, seconds=12.0))  # 25/30
    failed = submit(gradebook, "s002", "lenet5", DUE)
    gradebook.record_error(failed, "The grader failed on this submission.", "Traceback: instructor-only")
    school.submissions.update({("s002", "conv_ops"): late, ("s002", "lenet5"): failed})

    later = submit(gradebook, "s003", "conv_ops", DUE + timedelta(days=1, hours=3), IMG_FILENAME)
    gradebook.record_report(later, report("conv_ops", {0: 0.0, 1: 0.0, 9: 0.0, 13: 0.0}, seconds=13.0))  # 18/30
    school.submissions["s003", "conv_ops"] = later
    return school


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """What each download button would hand the browser, by file name: the page builds its exports when
    clicked, so the recorded callables are called here as the browser's click would."""
    recorded = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        recorded[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return recorded


def signed_in() -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30)
    at.secrets["instructor_password"] = PASSWORD
    at.run()
    at.switch_page("site_pages/instructor.py").run()
    next(w for w in at.text_input if w.label == "Instructor password").input(PASSWORD)
    button(at, "Sign in").click()
    return ran(at)


def ran(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def frame(at: AppTest, column: str):
    """The first table on the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


# --- grades ---

def test_final_grades_show_raw_score_penalty_and_the_counted_submission(school):
    grades = frame(signed_in(), "raw score").set_index("student_id")
    assert grades.loc["s003", "display_name"] == SCRIPT_NAME
    assert (grades.loc["s003", "score"], grades.loc["s003", "raw score"]) == (14.4, 18)
    assert grades.loc["s003", "penalty"] == "-20%"
    assert grades.loc["s003", "late"] == "late by 1 day 3 h (2 started days): -20%"
    assert grades.loc["s003", "counted"] == f"#{school.submissions['s003', 'conv_ops']}"
    assert grades.loc["s003", "why"] == "only submission, late"
    conv_ops = grades[grades["assignment"] == "conv_ops"]
    assert (conv_ops.loc["s002", "score"], conv_ops.loc["s002", "penalty"]) == (25, ""), \
        "course.toml's extension makes s002 on time"
    lenet5 = grades[grades["assignment"] == "lenet5"]
    assert lenet5.loc["s002", "status"] == "error"


def test_names_and_file_names_like_html_stay_text(school):
    at = choose(signed_in(), school.submissions["s003", "conv_ops"])
    assert not at.get("html")
    assert not [m.value for m in at.markdown if m.proto.allow_html]
    assert IMG_FILENAME in set(frame(at, "file")["file"])
    assert f"s003 · {SCRIPT_NAME}" in at.selectbox(key="extension_student").options


def test_a_broken_course_file_is_said_and_nothing_else_shown(school, course_file):
    course_file.write_text('timezone = "Mars/Olympus"\n')
    at = signed_in()
    assert texts(at.error) == ["The course file cannot be read, so final grades and deadlines cannot be shown."]
    assert "Mars/Olympus" in texts(at.code)[0]
    assert not at.tabs


# --- history, revert, regrade ---

def choose(at: AppTest, submission_id: int) -> AppTest:
    at.selectbox(key="instructor_submission").select(submission_id)
    return ran(at)


def test_history_shows_every_grading_and_what_changed(school):
    at = choose(signed_in(), school.submissions["s001", "conv_ops"])
    history = frame(at, "grader version")
    first, second = school.gradings["first"], school.gradings["second"]
    assert list(history["grading"]) == [first, second]
    assert list(history["grader version"]) == ["test-v1", "test-v2"]
    assert list(history["score"]) == ["28/30", "30/30"]
    assert list(history["current"]) == ["", "current"]
    assert f"#{first} -> #{second}: {GROUPS}: 0 -> 2/2" in texts(at.text)
    assert "instructor-only log" in texts(at.code)


def test_revert_makes_an_earlier_grading_current(school):
    submission = school.submissions["s001", "conv_ops"]
    at = choose(signed_in(), submission)
    assert button(at, "Revert to this grading").disabled, "the current grading is chosen"
    at.selectbox(key=f"instructor_grading_{submission}").select(school.gradings["first"])
    button(ran(at), "Revert to this grading").click()
    at = ran(at)
    assert texts(at.success) == [f"Submission #{submission} now shows grading #{school.gradings['first']}: 28/30."]
    assert school.gradebook.submission(submission).grading.id == school.gradings["first"]
    assert list(frame(at, "grader version")["current"]) == ["current", ""]
    assert frame(at, "raw score").set_index("student_id").loc["s001", "score"] == 28


def test_regrading_a_submission_queues_it_and_the_new_grading_joins_the_history(school):
    submission = school.submissions["s003", "conv_ops"]
    at = choose(signed_in(), submission)
    button(at, "Regrade this submission").click()
    at = ran(at)
    assert texts(at.success)[0].startswith(f"Submission #{submission} is queued for grading again")
    assert school.gradebook.submission(submission).status == "queued"

    school.gradebook.record_report(submission, report("conv_ops", {}, seconds=9.0))  # what the worker does
    at = ran(at)
    history = frame(at, "grader version")
    assert list(history["score"]) == ["18/30", "30/30"]
    assert list(history["current"]) == ["", "current"]


@pytest.mark.parametrize("student, assignment, queued", [
    ("s002", "every assignment", {("s002", "conv_ops"), ("s002", "lenet5")}),
    ("every student", "conv_ops", {("s001", "conv_ops"), ("s002", "conv_ops"), ("s003", "conv_ops")}),
    ("every student", "every assignment", {("s001", "conv_ops"), ("s002", "conv_ops"), ("s002", "lenet5"),
                                           ("s003", "conv_ops")}),
])
def test_regrade_by_student_assignment_or_everything_after_a_confirmation(school, student, assignment, queued):
    at = signed_in()
    at.selectbox(key="regrade_student").select(student)
    at.selectbox(key="regrade_assignment").select(assignment)
    at = ran(at)
    assert button(at, "Regrade").disabled
    [confirm] = [c for c in at.checkbox if c.label.startswith("Yes, regrade")]
    assert confirm.label == f"Yes, regrade {len(queued)} submission{'s' if len(queued) != 1 else ''}"
    confirm.check()
    button(ran(at), "Regrade").click()
    at = ran(at)
    assert texts(at.success) == [f"{len(queued)} submissions queued for grading again."]
    statuses = {key: school.gradebook.submission(i).status for key, i in school.submissions.items()}
    assert {key for key, status in statuses.items() if status == "queued"} == queued


# --- the report ---

def test_a_grading_shows_its_whole_report_and_downloads_it_as_a_zip(school, downloads, media):
    submission = school.submissions["s001", "conv_ops"]
    figures = report_figures()
    grading = school.gradebook.record_report(submission, replace(report("conv_ops", {}, seconds=9.0), figures=figures))
    at = choose(signed_in(), submission)

    assert f"Report of grading #{grading}" in texts(at.subheader)
    alts = [image.proto.imgs[0].alt for image in at.get("image")]
    assert alts == [picture.alt for picture in draw(figures)], "hidden figures included: staff see everything"
    assert ("The student sees this report as it is here, hidden checks and figures of hidden digits included."
            in texts(at.caption))

    folder = f"report-{submission}-{grading}"
    archive = zipfile.ZipFile(io.BytesIO(downloads[f"{folder}.zip"]()))
    html = archive.read(f"{folder}/report.html").decode()
    pictures = [name for name in archive.namelist() if name.endswith(".png")]
    assert len(pictures) == len(alts)
    for name in pictures:
        assert f'src="{name.removeprefix(folder + "/")}"' in html
        assert Image.open(io.BytesIO(archive.read(name))).format == "PNG"
    assert IMG_LAYER not in html and "&lt;img src=x" in html


def test_an_earlier_grading_says_the_student_sees_another_and_one_without_figures_has_no_zip(school, downloads):
    submission = school.submissions["s001", "conv_ops"]
    with_figures = school.gradebook.record_report(submission, replace(report("conv_ops", {}, seconds=9.0),
                                                                      figures=report_figures()))
    school.gradebook.revert(submission, school.gradings["second"])
    at = choose(signed_in(), submission)
    assert NO_FIGURES in texts(at.text)
    assert not [name for name in downloads if name.startswith("report-")]

    at.selectbox(key=f"instructor_grading_{submission}").select(with_figures)
    at = ran(at)
    assert (f"The student sees the current grading's report (grading {school.gradings['second']}), not this one "
            f"(grading {with_figures})." in texts(at.caption))
    assert f"report-{submission}-{with_figures}.zip" in downloads


# --- extensions ---

def grant(at: AppTest, student: str, assignment: str, day: date, at_time: time) -> AppTest:
    at.selectbox(key="extension_student").select(student)
    at.selectbox(key="extension_assignment").select(assignment)
    at.date_input(key="extension_day").set_value(day)
    at.time_input(key="extension_time").set_value(at_time)
    button(at, "Grant the extension").click()
    return ran(at)


def extension_rows(at: AppTest) -> list[tuple]:
    table = frame(at, "until (Asia/Shanghai)")
    return list(table[["student_id", "assignment", "until (Asia/Shanghai)", "from"]].itertuples(index=False, name=None))


def test_extensions_from_the_file_are_listed_and_marked_so(school):
    assert extension_rows(signed_in()) == [("s002", "conv_ops", "2026-12-05 23:59", "course.toml")]


def test_granting_an_extension_in_the_course_timezone_then_removing_it(school):
    at = grant(signed_in(), "s003", "conv_ops", date(2026, 12, 2), time(12, 0))
    assert texts(at.success) == ["s003 may submit conv_ops until 2026-12-02 12:00 (Asia/Shanghai) without penalty."]
    [extension] = school.gradebook.extensions()
    assert extension.until == datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
    assert ("s003", "conv_ops", "2026-12-02 12:00", "gradebook") in extension_rows(at)
    grades = frame(at, "raw score").set_index("student_id")
    assert (grades.loc["s003", "score"], grades.loc["s003", "why"]) == (18, "only submission, on time")

    at.selectbox(key="extension_to_remove").select(("s003", "conv_ops"))
    button(ran(at), "Remove the extension").click()
    at = ran(at)
    assert texts(at.success) == ["Removed the extension of s003 for conv_ops; their due date is "
                                 "2026-11-30 23:59 (Asia/Shanghai) now."]
    assert school.gradebook.extensions() == []
    assert frame(at, "raw score").set_index("student_id").loc["s003", "score"] == 14.4


def test_a_gradebook_extension_replaces_the_files(school):
    at = grant(signed_in(), "s002", "conv_ops", date(2026, 12, 10), time(23, 59))
    assert sorted(extension_rows(at)) == [
        ("s002", "conv_ops", "2026-12-05 23:59", "course.toml (replaced by the gradebook's)"),
        ("s002", "conv_ops", "2026-12-10 23:59", "gradebook"),
    ]


def test_the_extension_form_starts_at_the_sites_today_in_the_course_timezone(school, clock):
    clock(datetime(2026, 12, 1, 20, 30, tzinfo=timezone.utc))  # already 2 December in Shanghai
    at = signed_in()
    assert at.date_input(key="extension_day").value == date(2026, 12, 2)
    assert at.time_input(key="extension_time").value == time(23, 59)


@pytest.mark.parametrize("assignment, day, warning", [
    ("conv_ops", date(2026, 11, 29), "That is before the assignment's own due date (2026-11-30 23:59 "
                                     "(Asia/Shanghai)), which stays in effect: an extension never shortens."),
    ("lenet5", date(2026, 12, 20), "lenet5 has no due date in the course file, so the extension changes "
                                   "nothing yet."),
])
def test_an_extension_that_changes_nothing_says_so(school, assignment, day, warning):
    at = grant(signed_in(), "s001", assignment, day, time(23, 59))
    assert texts(at.warning) == [warning]


# --- exports ---

def test_exports_download_final_grades(school, downloads):
    at = signed_in()
    at.selectbox(key="export_assignment").select("conv_ops")
    ran(at)
    graded = {row["student_id"]: row for row in rows(downloads["grades-conv_ops.csv"]())}
    assert (graded["s003"]["score"], graded["s003"]["raw_score"], graded["s003"]["penalty"]) == ("14.4", "18.0", "0.2")
    assert graded["s003"]["submission_id"] == str(school.submissions["s003", "conv_ops"])
    assert graded["s003"]["display_name"] == SCRIPT_NAME

    canvas = list(csv.reader(io.StringIO(downloads["canvas-conv_ops.csv"]())))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "conv_ops"]
    assert ["Ada Lovelace", "", "s001", "", "", "30.0"] in canvas

    gradescope = json.loads(downloads["gradescope-conv_ops.json"]())
    assert gradescope["s003"]["score"] == 14.4
    assert gradescope["s003"]["extra_data"] == {"submission_id": school.submissions["s003", "conv_ops"]}
    assert not at.warning


def test_every_assignment_exports_csv_and_canvas_but_not_gradescope(school, downloads):
    at = signed_in()
    assert set(downloads) >= {"grades-all.csv", "canvas-all.csv"}
    assert not [name for name in downloads if name.startswith("gradescope")]
    assert "Gradescope results are per assignment: choose one above." in texts(at.caption)
    totals = {row["student_id"]: row["total"] for row in rows(downloads["grades-all.csv"]())}
    assert totals == {"s001": "30.0", "s002": "25.0", "s003": "14.4"}


def test_gradescope_export_says_who_it_leaves_out(school, downloads):
    at = signed_in()
    at.selectbox(key="export_assignment").select("lenet5")
    at = ran(at)
    assert texts(at.warning)[0].startswith("Left out of the Gradescope results")
    [left_out] = [d.value for d in at.dataframe if list(d.value.columns) == ["student_id"]]
    assert list(left_out["student_id"]) == ["s002"]
    assert json.loads(downloads["gradescope-lenet5.json"]()) == {}


def test_the_submitted_file_downloads_as_stored(school, downloads):
    submission = school.submissions["s003", "conv_ops"]
    choose(signed_in(), submission)
    assert downloads[IMG_FILENAME]() == school.gradebook.content(submission)


# --- an empty gradebook, the roster ---

def test_an_empty_gradebook_says_so_in_every_tab(empty_gradebook, course_file):
    at = signed_in()
    assert {"No submissions yet: results appear here once the first submission is graded.", "No submissions yet.",
            "No students yet: import the roster first."} <= set(texts(at.info))
    assert extension_rows(at) == [("s002", "conv_ops", "2026-12-05 23:59", "course.toml")]


def test_a_roster_import_shows_the_new_tokens_once(school):
    at = signed_in()
    at.file_uploader[0].upload("roster.csv", b"student_id,display_name\ns001,Ada Lovelace\ns900,New Student\n",
                               "text/csv")
    button(ran(at), "Import the roster").click()
    at = ran(at)
    assert texts(at.success) == ["1 students added, 0 renamed, 2 tokens issued."], "s001 had no token either"
    tokens = frame(at, "token").set_index("student_id")["token"]
    assert {student: school.gradebook.student_for_token(token) for student, token in tokens.items()} == \
        {"s001": "s001", "s900": "s900"}
    assert "s900 · New Student" in at.selectbox(key="extension_student").options, "the page reads the new roster"
    button(at, "I have saved them: hide the tokens").click()
    assert not [d for d in ran(at).dataframe if "token" in d.value.columns]
