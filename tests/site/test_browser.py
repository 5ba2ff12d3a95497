"""The site in a real browser: headless Chromium against `streamlit run`, with a worker grading the upload, and a
clock the test moves past a due date."""

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from dataclasses import replace

import pytest
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from grader.pictures.draw import draw
from site_pages.report import STUDENT_TITLE
from tests.site.conftest import (AFTER_DUE, BEFORE_DUE, IMG_FILENAME, REPO_ROOT, SCRIPT_NAME, TOTALS, report,
                                 report_figures)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO_ROOT / "artifacts" / "browser"
START_SECONDS = 30
GRADING_SECONDS = 60
INSTRUCTOR_PASSWORD = "browser-test-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    # A session of its own, so that stopping it stops the sandboxes and threads it started too.
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with status {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not answer at {url} within {START_SECONDS} s:\n{log.read_text()}")


def grid(page: Page, index: int) -> list[list[str]]:
    """The cells of the index-th st.dataframe: its canvas lists them as an accessible table once focused."""
    canvas = page.get_by_test_id("data-grid-canvas").nth(index)
    canvas.focus()
    # The table is the canvas's fallback content: in the page, but never painted, so CSS finds it, roles do not.
    expect(canvas.locator("[role=gridcell]").first).to_be_attached()
    return [row.locator("[role=gridcell]").all_text_contents() for row in canvas.locator("[role=row]").all()
            if row.locator("[role=gridcell]").count()]


def serve(seeded, tmp_path: Path, *, worker: bool):
    """The site on the seeded gradebook, on loopback, and a grading worker beside it where `worker`; yields
    the site's URL."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_packages.sh (Debian's chromium).")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GRADER_DB_URL": seeded.url, "GRADER_SECRET": "browser-test",
           "GRADER_INSTRUCTOR_PASSWORD": INSTRUCTOR_PASSWORD, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    server_log, worker_log = tmp_path / "streamlit.log", tmp_path / "worker.log"
    processes = [start([sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
                        "--server.port", str(port), "--server.headless", "true",
                        # Watching the checkout (with .venv) for edits overflows inotify and slows every page.
                        "--server.fileWatcherType", "none"], server_log, env)]
    if worker:
        # Two threads: the seeded class has a submission waiting that need not hold up the test's upload.
        processes.append(start([sys.executable, "-m", "grader", "worker", "--db", seeded.url, "--workers", "2",
                                "--poll", "0.5"], worker_log, env))
    try:
        wait_until_healthy(url, processes[0], server_log)
        yield url
    finally:
        for process in processes:
            stop(process)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for log in (server_log, worker_log)[:len(processes)]:  # beside the screenshots, for a failure in CI
            (SCREENSHOTS / log.name).write_bytes(log.read_bytes())


@pytest.fixture
def site(seeded, tmp_path):
    """The site and one grading worker on the seeded gradebook; yields the site's URL."""
    yield from serve(seeded, tmp_path, worker=True)


@pytest.fixture
def site_without_worker(seeded, tmp_path):
    """The site alone on the seeded gradebook, for what needs nothing graded while the test runs."""
    yield from serve(seeded, tmp_path, worker=False)


@contextlib.contextmanager
def browser_page() -> Iterator[tuple[Page, list[str]]]:
    """A page of headless Chromium (the Debian package) and the messages of every dialog it opens (an
    alert() smuggled in by a student's string would show there); the browser is closed afterwards."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            yield page, dialogs
        finally:
            browser.close()


def test_scoreboard_upload_graded_by_the_worker_analytics_and_instructor(site, seeded):
    pseudonyms = seeded.pseudonyms()
    with browser_page() as (page, dialogs):
        page.goto(site)
        expect(page.get_by_role("heading", name="digit_adder: accuracy leaderboard")).to_be_visible(timeout=30_000)
        board = grid(page, 0)
        assert [(row[1], float(row[-1])) for row in board] == [(pseudonyms[s], t) for s, t in TOTALS.items()]
        page.screenshot(path=SCREENSHOTS / "scoreboard.png", full_page=True)
        shown = page.locator("body").inner_text() + "\n".join("\t".join(row) for row in board)
        for student in seeded.gradebook.students():
            assert student.id not in shown and student.display_name not in shown

        page.get_by_role("link", name="Submit").click()
        page.get_by_label("Upload token", exact=True).fill(seeded.tokens["s003"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text(f"Signed in as {SCRIPT_NAME}", exact=True)).to_be_visible()
        expect(page.get_by_role("combobox", name="Assignment")).to_have_value(re.compile("^conv_ops: "))
        page.locator("input[type=file]").set_input_files(REPO_ROOT / "reference" / "conv_ops.py")
        submit = page.get_by_role("button", name="Submit for grading")
        expect(submit).to_be_enabled()
        submit.click()
        expect(page.get_by_text("is queued for grading.")).to_be_visible()
        expect(page.get_by_text("Status: done")).to_be_visible(timeout=GRADING_SECONDS * 1000)
        expect(page.get_by_test_id("stMetricValue")).to_have_text("30/30")
        page.screenshot(path=SCREENSHOTS / "submit.png", full_page=True)

        page.get_by_role("link", name="My submissions").click()
        expect(page.get_by_role("heading", name="My submissions")).to_be_visible()
        files = [row[2] for row in grid(page, 0)]
        assert files == ["conv_ops.py", IMG_FILENAME]
        page.screenshot(path=SCREENSHOTS / "my_submissions.png", full_page=True)

        page.get_by_role("link", name="Assignment analytics").click()
        expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(4)
        page.screenshot(path=SCREENSHOTS / "analytics.png", full_page=True)

        page.get_by_role("link", name="Instructor").click()
        page.get_by_label("Instructor password", exact=True).fill(INSTRUCTOR_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("tab", name="Grades")).to_be_visible()
        names = {row[1] for row in grid(page, 0)}
        assert {"Ada Lovelace", SCRIPT_NAME} <= names
        page.screenshot(path=SCREENSHOTS / "instructor.png", full_page=True)

        assert dialogs == []
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("script", has_text="alert(1)").count() == 0


HIDDEN_ADDER_CHECK = "accuracy on 2,000 pairs of hidden digits after your train_adder"


@pytest.fixture
def before_the_adders_due_date(seeded, course, clock):
    """The test course (the digit adder releases hidden results after its due date) with the clock before
    it; set up ahead of `site`, whose processes read GRADER_COURSE and GRADER_CLOCK_FILE when they start."""
    course()
    clock(BEFORE_DUE)
    return clock


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("Upload token", exact=True).fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_a_student_sees_the_hidden_result_only_after_the_due_date(before_the_adders_due_date, site, seeded):
    with browser_page() as (page, _):
        page.goto(f"{site}/my_submissions")
        sign_in(page, seeded.tokens["s002"])
        # Said twice: beside the final grade and above the feedback.
        expect(page.get_by_test_id("stAlertContentInfo").get_by_text(
            "The hidden checks' results (15 points) appear here after your due date, 2025-12-10 23:59 "
            "(Asia/Shanghai)")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stMetricValue")).to_have_text("5/5")
        expect(page.get_by_text(HIDDEN_ADDER_CHECK)).to_have_count(0)
        page.screenshot(path=SCREENSHOTS / "my_submissions_before_due.png", full_page=True)

        before_the_adders_due_date(AFTER_DUE)  # the due date passes: the site reads the clock file on each run
        page.reload()
        sign_in(page, seeded.tokens["s002"])  # a reloaded page is a new session
        expect(page.get_by_text(HIDDEN_ADDER_CHECK)).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stMetricValue")).to_have_text("14/20")
        expect(page.get_by_text("appear here after your due date")).to_have_count(0)
        page.screenshot(path=SCREENSHOTS / "my_submissions_after_due.png", full_page=True)


REPORT_IMAGES = "[data-testid=stExpander] img"
DECODED = """selector => [...document.querySelectorAll(selector)].filter(
    image => image.complete && image.naturalWidth > 0 && image.naturalHeight > 0).length"""
"""How many images under the selector the browser has loaded and decoded."""


@pytest.fixture
def graded_with_a_report(seeded):
    """s001's digit adder graded again, with a report (set up ahead of `site_without_worker`); its figures."""
    figures = report_figures()
    seeded.gradebook.record_report(seeded.submissions["s001", "digit_adder"],
                                   replace(report("digit_adder", {}, seconds=10.0), figures=figures))
    return figures


def test_a_student_opens_the_report_and_the_browser_decodes_every_picture(graded_with_a_report, site_without_worker,
                                                                          seeded):
    expected = draw(graded_with_a_report)
    with browser_page() as (page, dialogs):
        page.goto(f"{site_without_worker}/my_submissions")
        sign_in(page, seeded.tokens["s001"])
        page.get_by_text(STUDENT_TITLE, exact=True).click(timeout=30_000)
        images = page.locator(REPORT_IMAGES)
        expect(images).to_have_count(len(expected), timeout=30_000)
        page.wait_for_function(f"({DECODED})({REPORT_IMAGES!r}) === {len(expected)}", timeout=30_000)
        assert images.evaluate_all("images => images.map(image => image.alt)") == [p.alt for p in expected]
        sizes = images.evaluate_all("images => images.map(image => [image.naturalWidth, image.naturalHeight])")
        assert sizes == [list(Image.open(io.BytesIO(p.png)).size) for p in expected], "each PNG as drawn"
        # The report alone, in a window tall enough for all of it: the page scrolls inside Streamlit's own
        # container, which cuts a full-page shot at the window's height.
        page.set_viewport_size({"width": 1400, "height": 4000})
        page.get_by_test_id("stExpander").filter(has_text=STUDENT_TITLE).screenshot(path=SCREENSHOTS / "report.png")
        assert dialogs == []
        assert page.locator("img[src=x]").count() == 0
