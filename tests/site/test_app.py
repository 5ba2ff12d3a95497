"""The site, page by page, through Streamlit's AppTest: empty and populated gradebooks, sign-in, uploads, and the
course around them (late penalty, extensions, windows, daily limits, release of hidden results) on a test clock."""

import ast
import hashlib
import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from grader.config import Config
from grader.course import parse_course
from grader.intake import Artifact
from grader.leaderboard import part_caption
from grader.pictures.draw import draw
from grader.pictures.figures import LayerRow
from grader.pictures.page import HIDDEN_FIGURE, NO_FIGURES
from site_pages import common
from site_pages import report as site_report
from tests.site.conftest import (ADDER_MEASURES, AFTER_DUE, BEFORE_DUE, HTML_MESSAGE, IMG_FILENAME, IMG_LAYER,
                                 REPO_ROOT, SCRIPT_NAME, SEEDED_AT, TOTALS, report, report_figures)

PAGES = ("scoreboard", "analytics", "my_submissions", "submit", "instructor")
CONV_OPS = (REPO_ROOT / "reference" / "conv_ops.py").read_bytes()


def open_page(page: str, **secrets) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30)
    at.secrets.update(secrets)
    at.run()
    if page != "scoreboard":
        at.switch_page(f"site_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def text_input(at: AppTest, label: str):
    return next(w for w in at.text_input if w.label == label)


def sign_in(at: AppTest, token: str) -> AppTest:
    text_input(at, "Upload token").input(token)
    button(at, "Sign in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, assignment: str, filename: str, data: bytes) -> AppTest:
    at.selectbox[0].select(assignment)
    at.file_uploader[0].upload(filename, data, "text/x-python")
    at.run()
    button(at, "Submit for grading").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def values(elements) -> list[str]:
    return [element.value for element in elements]


def nodes(block):
    yield block
    for child in getattr(block, "children", {}).values():
        yield from nodes(child)


def rendered(at: AppTest) -> str:
    """Everything the app sent to the browser, as protobuf text (a dataframe's cells included)."""
    return "\n".join(str(node.proto) for root in (at.main, at.sidebar) for node in nodes(root)
                     if getattr(node, "proto", None) is not None)


def assert_no_html(at: AppTest) -> None:
    assert not at.get("html")
    assert not [m.value for m in at.markdown if m.proto.allow_html]
    assert not [m.value for m in at.markdown if "<script" in m.value or "<img" in m.value]


# --- an empty gradebook ---

@pytest.mark.parametrize("page, friendly", [
    ("scoreboard", common.NO_SUBMISSIONS),
    ("analytics", common.NO_SUBMISSIONS),
])
def test_public_pages_say_there_is_nothing_yet(empty_gradebook, page, friendly):
    at = open_page(page)
    assert values(at.info) == [friendly]
    assert not at.dataframe


@pytest.mark.parametrize("page", ["my_submissions", "submit"])
def test_student_pages_ask_for_a_token_first(empty_gradebook, page):
    at = open_page(page)
    assert [w.label for w in at.text_input] == ["Upload token"]
    assert not at.file_uploader and not at.dataframe


def test_signed_in_student_without_submissions_is_told_so(empty_gradebook):
    empty_gradebook.ensure_student("s100", "New Student")
    at = sign_in(open_page("my_submissions"), empty_gradebook.issue_token("s100"))
    assert "You have no submissions yet" in values(at.info)[0]


def test_instructor_page_without_a_password_says_how_to_set_one(empty_gradebook):
    at = open_page("instructor")
    assert "No instructor password is set" in values(at.warning)[0]
    assert "GRADER_INSTRUCTOR_PASSWORD" in rendered(at)
    assert not at.text_input and not at.dataframe


def test_instructor_page_on_an_empty_gradebook(empty_gradebook):
    at = open_page("instructor", instructor_password="pw")
    text_input(at, "Instructor password").input("pw")
    button(at, "Sign in").click()
    at.run()
    assert not at.exception
    assert common.NO_SUBMISSIONS in values(at.info)


# --- the public pages: pseudonyms, never ids or real names ---

def test_scoreboard_ranks_pseudonyms_with_their_totals(seeded):
    at = open_page("scoreboard")
    pseudonyms = seeded.pseudonyms()
    board = at.dataframe[0].value
    assert list(board["pseudonym"]) == [pseudonyms[s] for s in TOTALS]
    assert list(board["total (/72)"]) == list(TOTALS.values())
    assert list(board["rank"]) == [1, 2, 3, 4]
    assert list(board["conv_ops (/30)"].fillna(-1)) == [30, 25, 18, -1]

    adder = at.dataframe[1].value
    assert list(adder["pseudonym"]) == [pseudonyms["s001"], pseudonyms["s002"]]
    assert list(adder["accuracy"]) == ["98.00%", "93.75%"]
    assert list(adder["rank"]) == ["1", "2"]
    assert list(adder["correct"]) == ["1,960 of 2,000", "1,875 of 2,000"]
    low, high = adder["95% interval"][0].split(" to ")
    assert float(low.rstrip("%")) < 98 < float(high.rstrip("%"))
    assert part_caption("all") in rendered(at)


def test_scoreboard_never_shows_ids_or_real_names(seeded):
    text = rendered(open_page("scoreboard"))
    for student in seeded.gradebook.students():
        assert student.pseudonym in text
        assert student.id not in text
        assert student.display_name not in text


def test_scoreboard_filtered_by_assignment(seeded):
    at = open_page("scoreboard")
    at.selectbox[0].select("conv_ops").run()
    board = at.dataframe[0].value
    pseudonyms = seeded.pseudonyms()
    assert list(board["pseudonym"]) == [pseudonyms[s] for s in ("s001", "s002", "s003")]
    assert list(board["score"]) == [30, 25, 18]
    assert len(at.dataframe) == 1, "the adder's leaderboard belongs to digit_adder and to all assignments"

    at.selectbox[0].select("lenet5").run()
    assert list(at.dataframe[0].value["status"]) == ["grader error"]


def test_analytics_of_an_assignment(seeded):
    at = open_page("analytics")
    at.selectbox[0].select("conv_ops").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Submissions": "3", "Students graded": "3", "Median score": "25/30",
                       "Waiting to be graded": "0"}
    assert len(at.get("vega_lite_chart")) == 4
    text = rendered(at)
    assert "conv2d: groups" in text and "s001" not in text and "Ada Lovelace" not in text


def test_analytics_of_an_assignment_with_only_a_grader_error(seeded):
    at = open_page("analytics")
    at.selectbox[0].select("lenet5").run()
    assert not at.exception
    assert values(at.info) == ["Nothing graded yet.", "Nothing graded yet.", "No grading has finished yet."]


# --- the instructor ---

def test_wrong_instructor_password_shows_an_error_and_nothing_else(seeded, monkeypatch):
    monkeypatch.setenv("GRADER_INSTRUCTOR_PASSWORD", "correct horse")
    at = open_page("instructor")
    text_input(at, "Instructor password").input("battery staple")
    button(at, "Sign in").click()
    at.run()
    assert values(at.error) == ["Wrong password."]
    assert not at.dataframe and not at.tabs
    assert "s001" not in rendered(at)


def signed_in_instructor() -> AppTest:
    at = open_page("instructor", instructor_password="pw")
    text_input(at, "Instructor password").input("pw")
    button(at, "Sign in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_instructor_sees_ids_and_real_names_as_text(seeded):
    at = signed_in_instructor()
    grades = at.dataframe[0].value
    assert set(grades["student_id"]) == set(TOTALS)
    assert SCRIPT_NAME in set(grades["display_name"])
    submissions = at.dataframe[1].value
    assert IMG_FILENAME in set(submissions["file"])
    assert_no_html(at)


def test_instructor_imports_a_roster_and_sees_the_tokens_once(seeded):
    at = signed_in_instructor()
    roster = f"student_id,display_name\ns001,Ada Lovelace\ns900,{SCRIPT_NAME}\n".encode()
    at.file_uploader[0].upload("roster.csv", roster, "text/csv")
    at.run()
    button(at, "Import the roster").click()
    at.run()
    assert "1 students added, 0 renamed, 1 tokens issued." in values(at.success)
    tokens = at.dataframe[-1].value
    assert list(tokens["student_id"]) == ["s900"]
    assert seeded.gradebook.student_for_token(tokens["token"][0]) == "s900"

    button(at, "I have saved them: hide the tokens").click()
    at.run()
    assert tokens["token"][0] not in rendered(at)


def test_instructor_roster_errors_are_shown_as_text(seeded):
    at = signed_in_instructor()
    at.file_uploader[0].upload("roster.csv", f"name\n{SCRIPT_NAME}\n".encode(), "text/csv")
    at.run()
    button(at, "Import the roster").click()
    at.run()
    assert values(at.error) == ["The roster cannot be used as it is; nothing was imported."]
    assert any("student_id" in code for code in values(at.code))
    assert_no_html(at)


def test_exports_carry_ids(seeded):
    assert "\ns001,Ada Lovelace," in common.csv_export(None)
    assert '"s002"' in common.gradescope_export("conv_ops")


# --- a student's own pages ---

def test_wrong_token_is_refused(seeded):
    at = sign_in(open_page("submit"), "not-a-token")
    assert "not valid" in values(at.error)[0]
    assert not at.file_uploader


def test_my_submissions_shows_own_feedback_as_text(seeded):
    at = sign_in(open_page("my_submissions"), seeded.tokens["s003"])
    assert f"Signed in as {SCRIPT_NAME}" in values(at.text)
    table = at.dataframe[0].value
    assert list(table["file"]) == [IMG_FILENAME]
    assert list(table["score"]) == ["18/30"]
    assert HTML_MESSAGE in values(at.code)
    assert "[FAIL] 0/3  hidden cases: conv2d, pooling, convolve2d (hidden)" in values(at.text)
    assert "instructor-only log" not in rendered(at)
    assert "Ada Lovelace" not in rendered(at)
    assert_no_html(at)


def test_upload_is_queued_then_shows_the_grading(seeded):
    at = sign_in(open_page("submit"), seeded.tokens["s001"])
    at = upload(at, "conv_ops", "my_conv.py", CONV_OPS)
    assert values(at.success)[0].endswith("is queued for grading.")
    [queued] = [s for s in seeded.gradebook.submissions(student_id="s001") if s.filename == "my_conv.py"]
    assert (queued.filename, queued.status, queued.time_source) == ("my_conv.py", "queued", "received")
    assert seeded.gradebook.content(queued.id) == CONV_OPS
    assert any("Status: **queued (waiting for a grader)**" in text for text in values(at.markdown))

    seeded.gradebook.record_report(queued.id, report("conv_ops", {}, seconds=3.0))  # what the worker does
    at.run()
    assert any("Status: **done (graded)**" in text for text in values(at.markdown))
    assert [m.value for m in at.metric] == ["30/30"]


def test_upload_over_the_size_limit_is_refused(seeded, monkeypatch):
    monkeypatch.setenv("GRADER_UPLOAD_MAX_MB", "0.001")  # 1,048 bytes
    at = upload(sign_in(open_page("submit"), seeded.tokens["s001"]), "conv_ops", "big.py", b"#" * 2000)
    [message] = values(at.error)
    assert message.startswith("big.py is 2.0 KiB; the limit is 1.0 KiB. Submit only your code")
    assert len(seeded.gradebook.submissions(student_id="s001")) == 2


def test_upload_over_the_rate_limit_is_refused(seeded, monkeypatch):
    monkeypatch.setenv("GRADER_RATE_LIMIT", "2")
    at = sign_in(open_page("submit"), seeded.tokens["s002"])  # s002's seeded conv_ops is older than the hour
    upload(at, "conv_ops", "second.py", b"x = 2\n")
    upload(at, "conv_ops", "third.py", b"x = 3\n")
    assert not at.error
    upload(at, "conv_ops", "fourth.py", b"x = 4\n")
    [message] = values(at.error)
    assert message.startswith("You have uploaded 2 files for conv_ops in the last 1 h; the limit is 2. "
                              "You can upload again at ")
    assert "(UTC) (in 60 min)" in message, "without a course file the times are UTC"
    assert len(seeded.gradebook.submissions(student_id="s002", assignment="conv_ops")) == 3


# --- the upload rules themselves ---

CONFIG = Config(upload_max_bytes=100, rate_limit=2, rate_window_seconds=600)


@pytest.fixture
def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.mark.parametrize("assignment, filename, data, ok, message", [
    ("conv_ops", "a.py", b"x = 1\n", True, "is queued for grading."),
    ("conv_ops", "a.ipynb", b"{}", True, "is queued for grading."),
    ("conv_ops", "folder.ZIP", b"PK", True, "is queued for grading."),
    ("conv_ops", "a.txt", b"x = 1\n", False, "a.txt has another type. A folder goes in as a .zip."),
    ("conv_ops", "a.py", b"", False, "a.py is empty. Did you save it before uploading?"),
    ("conv_ops", "a.py", b"#" * 101, False, "a.py is 101 bytes; the limit is 100 bytes."),
    ("cats", "a.py", b"x = 1\n", False, "Unknown assignment. Choose one of: conv_ops, digit_adder,"),
])
def test_upload_rules(empty_gradebook, now, assignment, filename, data, ok, message):
    outcome = common.handle_upload(empty_gradebook, "s1", assignment, filename, data, CONFIG, now)
    assert outcome.ok is ok
    assert message in outcome.message
    assert len(empty_gradebook.submissions()) == int(ok)


def test_upload_keeps_only_the_files_own_name(empty_gradebook, now):
    outcome = common.handle_upload(empty_gradebook, "s1", "conv_ops", "C:\\Users\\me\\hw\\a\x00b.py", b"x", CONFIG, now)
    assert empty_gradebook.submission(outcome.submission_id).filename == "ab.py"


def test_an_upload_name_with_escapes_and_a_lone_surrogate_is_stored_safely(empty_gradebook, now):
    outcome = common.handle_upload(empty_gradebook, "s1", "conv_ops", "\x1b[2J\x9bhw\ud800.py", b"x", CONFIG, now)
    assert empty_gradebook.submission(outcome.submission_id).filename == "[2Jhw\ufffd.py"


def test_same_bytes_again_find_the_first_submission_and_cost_nothing(empty_gradebook, now):
    first = common.handle_upload(empty_gradebook, "s1", "conv_ops", "a.py", b"x = 1\n", CONFIG, now)
    again = common.handle_upload(empty_gradebook, "s1", "conv_ops", "b.py", b"x = 1\n", CONFIG, now)
    assert again.ok and again.submission_id == first.submission_id
    assert "exactly these bytes" in again.message
    assert empty_gradebook.recent_submissions("s1", "conv_ops", now - timedelta(hours=1)) == 1


def test_rate_limit_counts_per_assignment_within_the_window(empty_gradebook, now):
    def attempt(assignment, data, at=now):
        return common.handle_upload(empty_gradebook, "s1", assignment, "a.py", data, CONFIG, at).ok

    assert attempt("conv_ops", b"1") and attempt("conv_ops", b"2")
    assert not attempt("conv_ops", b"3")
    assert attempt("lenet5", b"3"), "the limit is per assignment"
    later = datetime.now(timezone.utc) + timedelta(seconds=CONFIG.rate_window_seconds + 1)
    assert attempt("conv_ops", b"3", at=later), "uploads older than the window no longer count"
    stored = hashlib.sha256(b"3").hexdigest()
    assert [s.content_hash for s in empty_gradebook.submissions("s1", "conv_ops")][-1] == stored


def test_upload_needs_an_aware_time(empty_gradebook):
    with pytest.raises(ValueError, match="timezone-aware"):
        common.handle_upload(empty_gradebook, "s1", "conv_ops", "a.py", b"x", CONFIG, datetime.now())


@pytest.mark.parametrize("page", PAGES)
def test_page_scripts_hold_no_bare_strings(page):
    # Streamlit's magic writes any bare expression of a page script onto the page, docstrings of constants too.
    tree = ast.parse((REPO_ROOT / "site_pages" / f"{page}.py").read_text())
    bare = [node.lineno for node in tree.body[1:]
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)]
    assert bare == []


def test_instructor_signs_out_and_a_new_password_signs_everyone_out(seeded):
    at = signed_in_instructor()
    button(at, "Sign out").click()
    at.run()
    assert [w.label for w in at.text_input] == ["Instructor password"] and not at.dataframe

    at = signed_in_instructor()
    at.secrets["instructor_password"] = "rotated"
    at.run()
    assert [w.label for w in at.text_input] == ["Instructor password"] and not at.dataframe


def test_signing_out_forgets_the_students_session(seeded):
    at = upload(sign_in(open_page("submit"), seeded.tokens["s001"]), "conv_ops", "a.py", b"x = 1\n")
    assert at.success
    button(at, "Sign out").click()
    at.run()
    assert [w.label for w in at.text_input] == ["Upload token"]
    at = sign_in(at, seeded.tokens["s002"])
    assert not at.success and not at.metric


# --- the course around the pages: late penalty, extensions, release, windows, daily limits (a test clock) ---

LATE = "late by 1 day 3 h (2 started days): -20%"
HIDDEN_ADDER_CHECK = "accuracy on 2,000 pairs of hidden digits after your train_adder (hidden)"
WINDOW = """
timezone = "Asia/Shanghai"

[assignments.conv_ops]
opens = "2025-12-01T08:00:00+08:00"
due = "2025-12-15T23:59:00+08:00"
late_until = "2025-12-18T23:59:00+08:00"
max_per_day = 2
"""
WINDOW_TEXT = "from 2025-12-01 08:00 to 2025-12-18 23:59 (Asia/Shanghai)"
SHANGHAI = timezone(timedelta(hours=8))


def texts(at: AppTest) -> str:
    return "\n".join(values(at.text))


def test_equal_totals_share_a_rank(seeded):
    seeded.gradebook.ensure_student("s005", "Twin of Alan")
    for assignment, fractions in (("conv_ops", {5: 0.0, 13: 0.0}), ("digit_adder", {2: 0.6})):
        submission_id, _ = seeded.gradebook.add_submission(
            "s005", assignment, Artifact.of(f"{assignment}.py", b"# the twin\n"), submitted_at=SEEDED_AT,
            time_source="received")
        seeded.gradebook.record_report(submission_id, report(assignment, fractions, seconds=1.0))
    board = open_page("scoreboard").dataframe[0].value
    assert list(board["total (/72)"]) == [50, 39, 39, 18, 0]
    assert list(board["rank"]) == [1, 2, 2, 4, 5]


def test_scoreboard_shows_the_grade_after_the_late_penalty_and_the_raw_score_beside(seeded, course, clock):
    course()
    clock(BEFORE_DUE)
    at = open_page("scoreboard")
    totals = at.dataframe[0].value
    assert list(totals["conv_ops (/30)"].fillna(-1)) == [24, 20, 14.4, -1]
    assert list(totals["conv_ops before penalty"].fillna(-1)) == [30, 25, 18, -1]

    at.selectbox[0].select("conv_ops").run()
    board = at.dataframe[0].value
    assert list(board["score"]) == [24, 20, 14.4]
    assert list(board["before penalty"]) == [30, 25, 18]
    assert list(board["late"]) == [LATE] * 3
    assert list(board["rank"]) == [1, 2, 3]


def test_hidden_points_stay_off_public_pages_until_the_due_date(seeded, course, clock):
    course()
    clock(BEFORE_DUE)
    at = open_page("scoreboard")
    totals = at.dataframe[0].value
    assert list(totals["digit_adder (public checks, /5)"].fillna(-1)) == [5, 5, -1, -1]
    assert "total (/57)" in totals.columns  # 30 + 5 public + 22
    assert any("its column counts the public checks' points only" in caption for caption in values(at.caption))
    at.selectbox[0].select("digit_adder").run()
    assert list(at.dataframe[0].value["counts"]) == ["public checks only"] * 2

    clock(AFTER_DUE)
    at.selectbox[0].select("All assignments").run()
    totals = at.dataframe[0].value
    assert list(totals["digit_adder (/20)"].fillna(-1)) == [20, 14, -1, -1]
    assert not any("public checks' points only" in caption for caption in values(at.caption))


def test_analytics_leave_hidden_checks_out_until_the_due_date(seeded, course, clock):
    course()
    clock(BEFORE_DUE)
    at = open_page("analytics")
    at.selectbox[0].select("digit_adder").run()
    assert {m.label: m.value for m in at.metric}["Median score"] == "5/5"
    assert "accuracy on 2,000 pairs" not in rendered(at)

    clock(AFTER_DUE)
    at.run()
    assert {m.label: m.value for m in at.metric}["Median score"] == "17/20"
    assert "accuracy on 2,000 pairs" in rendered(at)


def test_accuracy_board_ties_on_the_public_half_then_the_private_half_decides(seeded, course, clock):
    course()
    clock(BEFORE_DUE)
    at = open_page("scoreboard")
    at.selectbox[0].select("digit_adder").run()
    board = at.dataframe[1].value
    assert list(board["accuracy"]) == ["98.50%", "97.50%"]
    assert list(board["rank"]) == ["1 (tied)", "1 (tied)"], "the intervals overlap"
    assert list(board["correct"]) == ["985 of 1,000", "975 of 1,000"]
    assert part_caption("public") in rendered(at)

    clock(AFTER_DUE)
    at.run()
    board = at.dataframe[1].value
    assert list(board["accuracy"]) == ["97.50%", "90.00%"]
    assert list(board["rank"]) == ["1", "2"]
    assert part_caption("private") in rendered(at) and part_caption("public") not in rendered(at)


def test_my_submissions_shows_the_final_grade_the_counted_submission_and_the_late_line(seeded, course, clock):
    course()
    clock(BEFORE_DUE)
    at = sign_in(open_page("my_submissions"), seeded.tokens["s002"])
    shown = texts(at)
    assert "Due 2025-11-30 17:00 (Asia/Shanghai)." in shown
    assert "Final grade: 20/30 (25/30 before the late penalty)" in shown
    assert f"Submission #{seeded.submissions['s002', 'conv_ops']} counts: only submission, late." in shown
    assert "Late by 1 day 3 h (2 started days): -20%" in shown
    table = at.dataframe[0].value
    assert list(table["counts"]) == ["yes", "yes"]


def test_hidden_results_are_hidden_from_the_student_until_their_due_date(seeded, course, clock):
    course()
    clock(BEFORE_DUE)
    at = sign_in(open_page("my_submissions"), seeded.tokens["s002"])
    at.selectbox(key="feedback_for").select(seeded.submissions["s002", "digit_adder"]).run()
    assert HIDDEN_ADDER_CHECK not in texts(at)
    assert "Final grade of the public checks: 5/5" in texts(at)
    assert [(m.label, m.value) for m in at.metric] == [("Score of the public checks", "5/5")]
    assert any("The hidden checks' results (15 points) appear here after your due date, 2025-12-10 23:59 "
               "(Asia/Shanghai)" in info for info in values(at.info))
    assert "5/5 (public checks)" in list(at.dataframe[0].value["score"])

    clock(AFTER_DUE)
    at.run()
    assert HIDDEN_ADDER_CHECK in texts(at)
    assert [(m.label, m.value) for m in at.metric] == [("Score", "14/20")]
    assert "Final grade: 14/20" in texts(at)


def test_an_extension_moves_the_due_date_the_penalty_and_the_release(seeded, course, clock):
    course()
    clock(AFTER_DUE)
    seeded.gradebook.set_extension("s002", "conv_ops", SEEDED_AT + timedelta(hours=1))
    seeded.gradebook.set_extension("s002", "digit_adder", AFTER_DUE + timedelta(days=1))
    at = sign_in(open_page("my_submissions"), seeded.tokens["s002"])
    shown = texts(at)
    assert "Due 2025-12-01 21:00 (Asia/Shanghai), your extension included." in shown
    assert "Final grade: 25/30" in shown and "before the late penalty" not in shown
    assert "Due 2025-12-12 20:00 (Asia/Shanghai), your extension included." in shown
    assert HIDDEN_ADDER_CHECK not in shown, "the extension holds the release back too"

    totals = open_page("scoreboard").dataframe[0].value
    column = "digit_adder (/20; public checks only where not yet due)"
    assert list(totals[column].fillna(-1)) == [20, 5, -1, -1]


@pytest.mark.parametrize("when, refusal", [
    (datetime(2025, 12, 1, 7, 59, tzinfo=SHANGHAI), f"conv_ops is not open yet: uploads are accepted {WINDOW_TEXT}."),
    (datetime(2025, 12, 19, 0, 0, tzinfo=SHANGHAI), f"conv_ops is closed: uploads were accepted {WINDOW_TEXT}."),
])
def test_submit_refuses_outside_the_window_and_says_when_it_is(seeded, course, clock, when, refusal):
    course(WINDOW)
    clock(when)
    at = sign_in(open_page("submit"), seeded.tokens["s001"])
    assert f"Uploads are accepted {WINDOW_TEXT}." in texts(at)
    assert "Due 2025-12-15 23:59 (Asia/Shanghai)." in texts(at)
    assert values(at.warning) == [refusal]
    at.file_uploader[0].upload("a.py", b"x = 1\n", "text/x-python").run()
    assert button(at, "Submit for grading").disabled

    outcome = common.handle_upload(seeded.gradebook, "s001", "conv_ops", "a.py", b"x = 1\n", Config(), when,
                                   parse_course(WINDOW, "course.toml"))
    assert (outcome.ok, outcome.message) == (False, refusal)


def test_an_extension_keeps_the_window_open(seeded, course, clock):
    course(WINDOW)
    clock(datetime(2025, 12, 19, 12, 0, tzinfo=SHANGHAI))
    seeded.gradebook.set_extension("s001", "conv_ops", datetime(2025, 12, 20, 23, 59, tzinfo=SHANGHAI))
    at = sign_in(open_page("submit"), seeded.tokens["s001"])
    assert "Due 2025-12-20 23:59 (Asia/Shanghai), your extension included." in texts(at)
    assert not at.warning
    at = upload(at, "conv_ops", "late.py", b"x = 1\n")
    assert values(at.success)[0].endswith("is queued for grading.")
    [late] = [s for s in seeded.gradebook.submissions(student_id="s001") if s.filename == "late.py"]
    assert late.submitted_at == datetime(2025, 12, 19, 4, 0, tzinfo=timezone.utc), "received at the clock's time"


def test_the_daily_limit_is_the_courses_and_counts_days_in_its_timezone(seeded, course, clock, monkeypatch):
    monkeypatch.setenv("GRADER_RATE_LIMIT", "1")  # the course's max_per_day replaces the site's own limit
    course(WINDOW)
    clock(datetime(2025, 12, 5, 23, 0, tzinfo=SHANGHAI))  # 15:00 UTC
    at = sign_in(open_page("submit"), seeded.tokens["s002"])
    assert "at most 2 uploads a day (days in Asia/Shanghai) for conv_ops" in rendered(at)
    upload(at, "conv_ops", "one.py", b"x = 1\n")
    upload(at, "conv_ops", "two.py", b"x = 2\n")
    assert values(at.success)
    upload(at, "conv_ops", "three.py", b"x = 3\n")
    assert values(at.error) == ["You have uploaded 2 files for conv_ops today; the limit is 2 a day (days in "
                                "Asia/Shanghai). You can upload again from 2025-12-06 00:00 (Asia/Shanghai)."]

    clock(datetime(2025, 12, 6, 0, 30, tzinfo=SHANGHAI))  # still 5 December in UTC
    upload(at, "conv_ops", "three.py", b"x = 3\n")
    assert not at.error and values(at.success)[0].endswith("is queued for grading.")
    assert len(seeded.gradebook.submissions(student_id="s002", assignment="conv_ops")) == 4


# --- the feedback report ---

def with_report(seeded, student: str, assignment: str, fractions: dict[int, float]):
    """Grades the student's submission again, this time with report_figures(); returns those figures."""
    figures = report_figures()
    seeded.gradebook.record_report(seeded.submissions[student, assignment], replace(
        report(assignment, fractions, seconds=10.0, measures=ADDER_MEASURES.get(student)), figures=figures))
    return figures


def shown_pictures(at: AppTest, media: dict) -> list[tuple[str, bytes]]:
    """Each picture on the page: its alt text and the bytes the browser was sent for it."""
    return [(image.proto.imgs[0].alt, media[image.proto.imgs[0].url][1]) for image in at.get("image")]


def layer_rows(at: AppTest) -> dict:
    table = next(d.value for d in at.dataframe if "expected shape" in d.value.columns)
    return table.set_index("layer").to_dict("index")


def test_the_report_is_under_the_feedback_and_withholds_hidden_figures_until_the_due_date(seeded, course, clock,
                                                                                          media):
    course()
    clock(BEFORE_DUE)
    figures = with_report(seeded, "s002", "digit_adder", {2: 0.6})  # the hidden check says HTML_MESSAGE
    at = sign_in(open_page("my_submissions"), seeded.tokens["s002"])
    at.selectbox(key="feedback_for").select(seeded.submissions["s002", "digit_adder"]).run()

    assert site_report.STUDENT_TITLE in [e.label for e in at.expander]
    public = draw(figures.without_hidden(HIDDEN_FIGURE))
    pictures = shown_pictures(at, media)
    assert [alt for alt, _ in pictures] == [p.alt for p in public]
    assert len(pictures) == len(draw(figures)) - 2, "no confusion matrix, no robustness"
    for _, png in pictures:
        assert Image.open(io.BytesIO(png)).format == "PNG"
    assert "Confusion matrix: made from the hidden digits, it appears with the hidden checks' results." in texts(at)
    assert "Robustness: made from the hidden digits, it appears with the hidden checks' results." in texts(at)
    assert "Got against expected: this assignment has no worked examples." in texts(at)
    rows = layer_rows(at)
    assert rows["conv1"]["output shape"] == "✗ (None, 24, 24, 4)"
    assert rows["conv1"]["expected shape"] == "(None, 28, 28, 4)"
    assert rows["conv1"]["what the checks say"] == "", "the message is the hidden check's"
    assert rows[IMG_LAYER]["trainable parameters"] == "✗ 1,290"
    assert_no_html(at)

    clock(AFTER_DUE)
    at.run()
    assert [alt for alt, _ in shown_pictures(at, media)] == [p.alt for p in draw(figures)]
    assert HIDDEN_FIGURE not in texts(at)
    assert layer_rows(at)["conv1"]["what the checks say"] == HTML_MESSAGE.removeprefix("Layer 'conv1': ")


def test_a_grading_from_before_reports_says_so(seeded):
    at = sign_in(open_page("my_submissions"), seeded.tokens["s001"])
    assert NO_FIGURES in values(at.text)
    assert not at.get("image")


def test_a_grader_error_or_a_waiting_submission_has_no_report(seeded):
    at = sign_in(open_page("my_submissions"), seeded.tokens["s004"])
    for key in ("lenet5", "mnist_convnet"):
        at.selectbox(key="feedback_for").select(seeded.submissions["s004", key]).run()
        assert site_report.STUDENT_TITLE not in [e.label for e in at.expander]


def test_a_report_that_cannot_be_drawn_leaves_the_feedback_standing(seeded, monkeypatch):
    with_report(seeded, "s001", "digit_adder", {})

    def broken(figures):
        raise RuntimeError("a drawing bug")
    monkeypatch.setattr(site_report, "draw", broken)
    at = sign_in(open_page("my_submissions"), seeded.tokens["s001"])
    at.selectbox(key="feedback_for").select(seeded.submissions["s001", "digit_adder"]).run()
    assert values(at.warning) == [site_report.NOT_DRAWN]
    assert [(m.label, m.value) for m in at.metric] == [("Score", "20/20")]


def test_the_layer_table_marks_wrong_cells_and_keeps_a_row_for_a_layer_the_model_lacks():
    layers = (LayerRow("c1", "Conv2D", [None, 28, 28, 6], 156, [None, 28, 28, 6], 156),
              LayerRow("s2", "AveragePooling2D", None, 0, [None, 14, 14, 6], None),
              LayerRow("pair", "Concatenate", [[None, 10], [None, 10]], None))
    messages = {"s2": ["output shape got (None, 12, 12, 6), expected (None, 14, 14, 6)."],
                "c3": ["Your model has no layer named 'c3'."]}
    table = site_report.layer_table(layers, messages).set_index("layer")
    assert table.loc["c1"].tolist() == ["Conv2D", "(None, 28, 28, 6)", "(None, 28, 28, 6)", "156", "156", ""]
    assert table.loc["s2"].tolist() == ["AveragePooling2D", "✗ -", "(None, 14, 14, 6)", "0", "",
                                        "output shape got (None, 12, 12, 6), expected (None, 14, 14, 6)."]
    assert table.loc["pair", "output shape"] == "[(None, 10), (None, 10)]"
    assert table.loc["c3"].tolist() == ["not in your model", "", "", "", "", "Your model has no layer named 'c3'."]


def test_staff_see_the_whole_report_and_whether_the_student_sees_its_hidden_figures_yet(seeded, course, clock):
    course()
    clock(BEFORE_DUE)
    figures = with_report(seeded, "s002", "digit_adder", {2: 0.6})
    at = signed_in_instructor()
    at.selectbox(key="instructor_submission").select(seeded.submissions["s002", "digit_adder"]).run()
    assert [image.proto.imgs[0].alt for image in at.get("image")] == [p.alt for p in draw(figures)]
    assert ("The student sees this report without its hidden checks and figures of hidden digits (confusion "
            "matrix, robustness) until hidden results are released, after 2025-12-10 23:59 (Asia/Shanghai).") \
        in values(at.caption)
