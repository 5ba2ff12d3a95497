"""The site, page by page, through Streamlit's AppTest: empty and populated gradebooks, sign-in, uploads, and the
course around them (late penalty, extensions, windows, daily limits, release of hidden results) on a test clock."""

import ast
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from streamlit.testing.v1 import AppTest

from grader.config import Config
from grader.course import parse_course
from grader.leaderboard import part_caption
from site_pages import common
from tests.site.conftest import (AFTER_DUE, BEFORE_DUE, HTML_MESSAGE, IMG_FILENAME, REPO_ROOT, SCRIPT_NAME, SEEDED_AT,
                                 TOTALS, report)

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
