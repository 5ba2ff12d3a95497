"""report.html: one grading's feedback report as a self-contained page, its PNGs beside it."""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from html import escape
from pathlib import Path

from grader.checks import fmt_shape
from grader.feedback import MARKS
from grader.pictures.draw import HIDDEN_PICTURES, Picture, draw, layer_messages
from grader.pictures.figures import Figures, LayerRow
from grader.present import score_text
from grader.results import CheckResult

PAGE = "report.html"
HIDDEN_FIGURE = "made from the hidden digits, it appears with the hidden checks' results"
"""Why a figure of hidden digits is not on a student's page before the course releases hidden results."""
FIGURE_TITLES = {
    "layers": "Layer table",
    "kernels": "Kernels",
    "digit": "Feature maps",
    "feature_maps": "Feature maps",
    "curves": "Learning curves",
    "confusion": "Confusion matrix",
    "robustness": "Robustness",
    "reference_robustness": "The reference model's robustness",
    "differences": "Got against expected",
}
"""How the page names each Figures field in its "not in this report" lines."""
NO_FIGURES = "This grading has no pictures: it was graded before the grader drew reports. A regrade makes them."
WRONG = "✗"
"""Marks a layer-table cell that differs from what the assignment expects (it is shaded too)."""
_FILE_STEM = re.compile(r"[a-z0-9_]{1,64}")

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; max-width: 1040px;
       margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.who, .caption, .missing { color: #555; }
.score { font-size: 1.3em; font-weight: 600; margin: 0.6em 0; }
.box { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 0.8em; margin: 0.6em 0; }
.staff { background: #eef4ff; border-left-color: #3b6fd8; }
.message { white-space: pre-wrap; margin: 0; overflow-wrap: anywhere; }
.text { white-space: pre-wrap; font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.9em;
        margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f5f5f7; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.shape { font-family: ui-monospace, Menlo, monospace; white-space: nowrap; }
td.wrong { background: #fde2e2; font-weight: 600; }
td.status { font-family: ui-monospace, Menlo, monospace; white-space: nowrap; }
tr.passed td.status { color: #1b7837; }
tr.failed td.status, tr.error td.status { color: #b2182b; }
tr.partial td.status { color: #b26a00; }
.hidden-tag { color: #777; font-size: 0.85em; }
figure { margin: 1.5em 0; }
figure h3 { font-size: 1.05em; margin: 0 0 0.4em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; max-width: 60em; }
"""


def write_report(out_dir: Path | str, *, title: str, who: str, figures: Figures | None,
                 checks: Sequence[CheckResult], notes: Sequence[str] = (), withheld: str | None = None,
                 pictures: Sequence[Picture] | None = None, staff_line: str | None = None) -> Path:
    """Writes out_dir/report.html and a PNG beside it per picture; returns the page's path.

    The page: the score, the notes, the checks with their messages, the layer table (cells that
    differ from what the assignment expects marked, each layer's check messages beside its row), the
    pictures with their captions, and a line for each figure that is not there and why. Every string
    is HTML-escaped; there is no JavaScript and nothing is fetched from elsewhere.

    `withheld`: the sentence saying when the hidden checks' results appear (a student before the
    course releases them). Given, the hidden checks and the figures of hidden digits are left out,
    and the score counts the public checks only. `pictures`: draw(figures) when already drawn (the
    site keeps them); by default they are drawn here. `staff_line`: a line for staff under the title
    ("Students see the hidden figures from ...").
    """
    out_dir = Path(out_dir)
    checks = list(checks)
    if withheld is not None:
        checks = [check for check in checks if not check.hidden]
        figures = None if figures is None else figures.without_hidden(HIDDEN_FIGURE)
    if pictures is None:
        pictures = draw(figures) if figures is not None else []
    elif withheld is not None:
        pictures = [picture for picture in pictures if picture.name not in HIDDEN_PICTURES]

    out_dir.mkdir(parents=True, exist_ok=True)
    for picture in pictures:
        (out_dir / png_name(picture)).write_bytes(picture.png)
    page = out_dir / PAGE
    page.write_text(render(title=title, who=who, figures=figures, checks=checks, notes=notes, withheld=withheld,
                           pictures=pictures, staff_line=staff_line), encoding="utf-8")
    return page


def png_name(picture: Picture) -> str:
    """NAME.png; ValueError for a name that is not a plain file stem (it never comes from a student)."""
    if not _FILE_STEM.fullmatch(picture.name):
        raise ValueError(f"Expected a picture name of letters, digits and underscores. Received {picture.name!r}.")
    return f"{picture.name}.png"


def render(*, title: str, who: str, figures: Figures | None, checks: Sequence[CheckResult], notes: Sequence[str],
           withheld: str | None, pictures: Sequence[Picture], staff_line: str | None = None) -> str:
    """The page's HTML, for pictures written beside it under png_name."""
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="who">{escape(who)}</p>']
    if staff_line:
        parts.append(f'<p class="box staff">{escape(staff_line)}</p>')
    parts.append(_score(checks, withheld))
    if withheld is not None:
        parts.append(f'<p class="box">{escape(withheld)}</p>')
    if notes:
        parts.append("<h2>Notes</h2>" + "".join(f'<div class="box"><p class="text">{escape(note)}</p></div>'
                                                for note in notes))
    if checks:
        parts.append("<h2>Checks</h2>" + _checks_table(checks))
    if figures is None:
        parts.append(f'<h2>Report</h2><p class="missing">{escape(NO_FIGURES)}</p>')
    else:
        if figures.layers:
            parts.append("<h2>Your model's layers</h2>" + _layer_table(figures.layers, layer_messages(checks)))
        if pictures:
            parts.append("<h2>Pictures</h2>" + "".join(_figure(picture) for picture in pictures))
        if figures.missing:
            parts.append("<h2>Not in this report</h2><ul>" + "".join(
                f'<li class="missing">{escape(line)}</li>' for line in missing_lines(figures)) + "</ul>")
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")


def missing_lines(figures: Figures) -> list[str]:
    """"Kernels: the model has no convolution.", one per figure that is not there; the reference's
    robustness is not named where the student's own robustness is missing too (it only compares)."""
    return [f"{FIGURE_TITLES.get(name, name.replace('_', ' ').capitalize())}: {why.rstrip('.')}."
            for name, why in figures.missing.items()
            if not (name == "reference_robustness" and "robustness" in figures.missing)]


def _score(checks: Sequence[CheckResult], withheld: str | None) -> str:
    score = round(sum(check.points for check in checks), 2)
    maximum = round(sum(check.max_points for check in checks), 2)
    label = "Score of the public checks" if withheld is not None else "Score"
    return f'<p class="score">{label}: {escape(score_text(score, maximum) if checks else "no checks")}</p>'


def _checks_table(checks: Sequence[CheckResult]) -> str:
    rows = []
    for check in checks:
        hidden = ' <span class="hidden-tag">(hidden)</span>' if check.hidden else ""
        rows.append(f'<tr class="{escape(check.status)}"><td class="status">{escape(MARKS[check.status].strip())}</td>'
                    f'<td class="number">{check.points:g}/{check.max_points:g}</td>'
                    f"<td>{escape(check.name)}{hidden}</td>"
                    f'<td><p class="text">{escape(check.message)}</p></td></tr>')
    return ("<table><thead><tr><th>result</th><th>points</th><th>check</th><th>what the grader found</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def _layer_table(layers: Sequence[LayerRow], messages: dict[str, list[str]]) -> str:
    rows = []
    for layer in layers:
        rows.append("<tr>" + f"<td>{escape(layer.name)}</td><td>{escape(layer.kind)}</td>"
                    + _cell(fmt_shape(layer.output_shape) if layer.output_shape is not None else "-",
                            layer.shape_wrong, "shape")
                    + _cell(fmt_shape(layer.expected_output_shape) if layer.expected_output_shape is not None
                            else "", False, "shape")
                    + _cell(_count(layer.trainable_params), layer.params_wrong, "number")
                    + _cell(_count(layer.expected_params), False, "number")
                    + f'<td><p class="message">{escape(chr(10).join(messages.get(layer.name, [])))}</p></td></tr>')
    named = {layer.name for layer in layers}
    for name, lines in messages.items():
        if name not in named:  # an expected layer the model does not have: its message still has a row
            rows.append(f'<tr><td>{escape(name)}</td><td colspan="5" class="missing">not in your model</td>'
                        f'<td><p class="message">{escape(chr(10).join(lines))}</p></td></tr>')
    return (f"<p>Your model's layers beside what the assignment expects ({WRONG}: differs from what it expects)."
            "</p><table><thead><tr><th>layer</th><th>type</th><th>output shape</th><th>expected shape</th>"
            "<th>trainable parameters</th><th>expected parameters</th><th>what the checks say</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>")


def _cell(text: str, wrong: bool, kind: str) -> str:
    if wrong:
        return f'<td class="{kind} wrong" title="differs from what the assignment expects">{WRONG} {escape(text)}</td>'
    return f'<td class="{kind}">{escape(text)}</td>'


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _figure(picture: Picture) -> str:
    size = _png_size(picture.png)
    dimensions = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return (f'<figure id="{picture.name}"><h3>{escape(picture.title)}</h3>'
            f'<img src="{png_name(picture)}" alt="{escape(picture.alt)}"{dimensions}>'
            f"<figcaption>{escape(picture.caption)}</figcaption></figure>")


def _png_size(png: bytes) -> tuple[int, int] | None:
    """(width, height) from the PNG's header, so the page keeps its layout while the images load."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", png[16:24])
