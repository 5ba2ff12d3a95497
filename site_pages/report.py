"""The feedback report on the site: the layer table, the pictures, a line for each figure that is not there."""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from grader.checks import fmt_shape
from grader.pictures.draw import Picture, draw, layer_messages
from grader.pictures.figures import Figures, LayerRow
from grader.pictures.page import HIDDEN_FIGURE, NO_FIGURES, WRONG, missing_lines, write_report
from grader.results import CheckResult
from site_pages import common

log = logging.getLogger(__name__)

STUDENT_TITLE = "Report: what your network learned"
NOT_DRAWN = ("The report of this grading could not be drawn; the feedback above is complete. The course "
             "staff can see why in the site's log.")
NOTHING_TO_DRAW = "Nothing to draw for this grading: the grader recorded no figures of it."
WRONG_SHADE = "background-color: rgba(255, 75, 75, 0.18)"
"""A layer-table cell that differs from what the assignment expects: shaded, and marked WRONG as report.html does."""
LAYER_COLUMNS = ["layer", "type", "output shape", "expected shape", "trainable parameters", "expected parameters",
                 "what the checks say"]
DRAWN_ENTRIES = 64
"""Reports kept drawn in the site's memory: each is well under 2 MB of PNG, so at most about 128 MB."""


@dataclass(frozen=True)
class Report:
    """A grading's figures as the reader may see them, drawn."""

    figures: Figures
    """Without the hidden figures where the reader may not see them yet (their reason in `missing`)."""
    pictures: list[Picture]


@st.cache_data(max_entries=DRAWN_ENTRIES, show_spinner="Drawing the report…")
def drawn(submission_id: int, grading_id: int, hidden_shown: bool) -> Report | None:
    """The report of one grading, drawn once per grading (a grading never changes once recorded) and
    for whether its hidden figures are shown; None for a grading without figures."""
    figures = common.load_reader().figures(submission_id, grading_id)
    if figures is None:
        return None
    if not hidden_shown:
        figures = figures.without_hidden(HIDDEN_FIGURE)
    return Report(figures, draw(figures))


def layer_table(layers: tuple[LayerRow, ...], messages: dict[str, list[str]]) -> pd.DataFrame:
    """report.html's layer table: one row per layer, what it is beside what the assignment expects, a
    wrong cell marked WRONG, and what the checks say about the layer; then a row for each layer the
    checks name that the model does not have."""
    def marked(text: str, wrong: bool) -> str:
        return f"{WRONG} {text}" if wrong else text

    rows = [{
        "layer": layer.name,
        "type": layer.kind,
        "output shape": marked("-" if layer.output_shape is None else fmt_shape(layer.output_shape), layer.shape_wrong),
        "expected shape": "" if layer.expected_output_shape is None else fmt_shape(layer.expected_output_shape),
        "trainable parameters": marked(_count(layer.trainable_params), layer.params_wrong),
        "expected parameters": _count(layer.expected_params),
        "what the checks say": " ".join(messages.get(layer.name, [])),
    } for layer in layers]
    named = {layer.name for layer in layers}
    rows += [{"layer": name, "type": "not in your model", "what the checks say": " ".join(lines)}
             for name, lines in messages.items() if name not in named]
    return pd.DataFrame(rows, columns=LAYER_COLUMNS).fillna("")


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _shade_wrong(cell: object) -> str:
    return WRONG_SHADE if isinstance(cell, str) and cell.startswith(f"{WRONG} ") else ""


def show(submission_id: int, grading_id: int, checks: list[CheckResult], hidden_shown: bool) -> Report | None:
    """The report of one grading in the current container: the layer table with the checks' messages
    beside its rows, each picture with its caption, and why any figure is not there.

    `checks`: those the reader sees (their layer messages go into the table); `hidden_shown`: False
    leaves the figures of hidden digits out, as the hidden checks are before the course releases them.
    Returns what it showed; None where there was no report to show.
    """
    try:
        report = drawn(submission_id, grading_id, hidden_shown)
    except Exception:  # a drawing bug must not take the feedback page with it: logged for the staff
        log.exception("drawing the report of submission %s, grading %s", submission_id, grading_id)
        st.warning(NOT_DRAWN)
        return None
    if report is None:
        st.text(NO_FIGURES)
        return None
    figures = report.figures
    if not (figures.layers or report.pictures or figures.missing):
        st.text(NOTHING_TO_DRAW)
    if figures.layers:
        st.text(f"Your model's layers beside what the assignment expects ({WRONG}: differs from what it expects)")
        st.dataframe(layer_table(figures.layers, layer_messages(checks)).style.map(_shade_wrong), hide_index=True)
    for picture in report.pictures:
        with st.container(border=True):
            # Titles and captions can hold a student's layer names: plain text, never Markdown.
            st.text(picture.title)
            st.image(picture.png, alt=picture.alt, output_format="PNG")  # "auto" would send a lossy JPEG
            st.text(picture.caption)
    for line in missing_lines(figures):
        st.text(line)
    return report


def zip_of(submission_id: int, grading_id: int, *, title: str, who: str, checks: list[CheckResult],
           notes: tuple[str, ...] | list[str], staff_line: str) -> bytes:
    """report.html and its PNGs, as `python -m grader report` writes them, in one zip (a folder
    report-SUBMISSION-GRADING inside): the whole report, hidden figures included, for staff."""
    report = drawn(submission_id, grading_id, hidden_shown=True)
    if report is None:
        raise LookupError(f"Grading #{grading_id} of submission #{submission_id} has no report.")
    folder_name = f"report-{submission_id}-{grading_id}"
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / folder_name
        write_report(folder, title=title, who=who, figures=report.figures, checks=checks, notes=notes,
                     pictures=report.pictures, staff_line=staff_line)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:  # stored: PNGs are compressed already
            for path in sorted(folder.iterdir()):
                archive.write(path, f"{folder_name}/{path.name}")
    return out.getvalue()
