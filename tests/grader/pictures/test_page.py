"""report.html: self-contained, every string escaped, wrong layer cells marked, hidden figures withheld."""

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.pictures.draw import Picture, draw
from grader.pictures.figures import Difference, FeatureMaps, Figures, LayerRow, LearningCurves, RobustnessCurve
from grader.pictures.page import HIDDEN_FIGURE, NO_FIGURES, PAGE, png_name, write_report
from grader.results import CheckResult

HOSTILE = '<script>alert("x")</script> & <img src=http://evil.example/a.png>'

LAYERS = (
    LayerRow("c1", "Conv2D", [None, 32, 32, 6], 156, [None, 28, 28, 6], 156),
    LayerRow("s2", "AveragePooling2D", [None, 16, 16, 6], 0, [None, 14, 14, 6], 0),
    LayerRow("c3", "Conv2D", [None, 10, 10, 16], 2000, [None, 10, 10, 16], 2416),
    LayerRow(HOSTILE, "Dense", [None, 84], 10164),
)
CHECKS = [
    CheckResult.scored("layer output shapes", 4, 5 / 7,
                       "Layer 'c1': output shape got (None, 32, 32, 6), expected (None, 28, 28, 6). Likely cause: "
                       "did you pad 28x28 to 32x32?\nLayer 's2': output shape got (None, 16, 16, 6), expected "
                       "(None, 14, 14, 6).\nYour model has no layer named 'c5' (it has: c1, s2, c3)."),
    CheckResult.scored("layer parameters", 4, 6 / 7, "Layer 'c3': trainable parameters got 2,000, expected 2,416."),
    CheckResult.scored("accuracy", 8, 0.5, f"Accuracy 91.5% on the hidden digits {HOSTILE}", hidden=True),
]


def full_figures() -> Figures:
    rng = np.random.default_rng(0)
    levels = {"shift": (0, 1, 2, 3, 4), "rotation": (0, 10, 20, 30), "noise": (0, 0.25, 0.5)}
    return Figures(
        layers=LAYERS, kernel_layer="c1", kernels=rng.normal(size=(5, 5, 1, 6)),
        curves=LearningCurves(loss=(1.0, 0.5, 0.4), val_loss=(1.0, 0.6, 0.7), train_size=7200, validation_size=800),
        confusion=np.diag(np.full(10, 180)) + rng.integers(0, 4, (10, 10)),
        robustness=tuple(RobustnessCurve(t, lv, tuple(np.linspace(0.98, 0.6, len(lv))), 400) for t, lv in levels.items()),
        reference_robustness=tuple(RobustnessCurve(t, lv, tuple(np.linspace(0.99, 0.8, len(lv))), 400)
                                   for t, lv in levels.items()),
        missing={"feature_maps": f"the probe could not run the model on the report's digit: {HOSTILE}"})


def written(tmp_path: Path, figures: Figures | None = None, **changes) -> tuple[Path, str]:
    options = dict(title=f"lenet5: feedback report {HOSTILE}", who=f"s01, submission 3 ({HOSTILE}.py)",
                   figures=full_figures() if figures is None else figures, checks=CHECKS,
                   notes=[f"Traceback (most recent call last):\n  cell 7, line 3\nValueError: {HOSTILE}"], withheld=None)
    page = write_report(tmp_path / "out" / "report", **{**options, **changes})
    return page, page.read_text(encoding="utf-8")


class Cells(HTMLParser):
    """Each table row of a page as a list of (class, text) cells."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = [dict(attrs).get("class") or "", ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((self._cell[0], self._cell[1].strip()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def table_rows(text: str) -> dict[str, list[tuple[str, str]]]:
    parser = Cells()
    parser.feed(text)
    return {row[0][1]: row for row in parser.rows if row}


def test_the_page_and_its_pictures_are_written_side_by_side(tmp_path):
    page, text = written(tmp_path)
    assert page == tmp_path / "out" / "report" / PAGE
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert sources == ["kernels.png", "learning_curves.png", "confusion.png", "robustness.png"]
    for source in sources:
        image = Image.open(page.parent / source)
        width, height = re.search(rf'src="{source}"[^>]* width="(\d+)" height="(\d+)"', text).groups()
        assert image.size == (int(width), int(height))
        assert (page.parent / source).stat().st_size < 300_000
    assert sum(path.stat().st_size for path in page.parent.iterdir()) < 2_000_000


def test_every_string_is_escaped_and_nothing_is_fetched_or_run(tmp_path):
    _, text = written(tmp_path)
    assert "<script" not in text.lower() and "javascript:" not in text.lower()
    assert "http://evil" not in text.replace("http://evil.example/a.png&gt;", "")  # only as escaped text
    assert re.findall(r'(?:src|href)="([^"]*)"', text) == ["kernels.png", "learning_curves.png", "confusion.png",
                                                           "robustness.png"]
    assert "@import" not in text and "url(" not in text
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=http://evil.example/a.png&gt;"
    # In the title, the who line, a note, a layer name, a hidden check's message and a missing line.
    assert text.count(escaped) >= 6


def test_wrong_cells_are_marked_and_each_layer_has_its_messages_beside_it(tmp_path):
    _, text = written(tmp_path)
    rows = table_rows(text)
    c1, s2, c3 = rows["c1"], rows["s2"], rows["c3"]
    assert c1[2] == ("shape wrong", "✗ (None, 32, 32, 6)") and c1[3] == ("shape", "(None, 28, 28, 6)")
    assert c1[4] == ("number", "156"), "right parameters are not marked"
    assert c1[6][1] == ("output shape got (None, 32, 32, 6), expected (None, 28, 28, 6). "
                        "Likely cause: did you pad 28x28 to 32x32?")
    assert s2[2][0] == "shape wrong"
    assert c3[2] == ("shape", "(None, 10, 10, 16)") and c3[4] == ("number wrong", "✗ 2,000")
    assert c3[6][1] == "trainable parameters got 2,000, expected 2,416."
    assert rows[HOSTILE][3] == ("shape", ""), "a layer the assignment expects nothing of has empty expected cells"
    assert rows["c5"][1][1] == "not in your model"
    assert rows["c5"][2][1].startswith("Your model has no layer named 'c5'")


def test_the_checks_notes_and_score_are_all_there_for_staff(tmp_path):
    _, text = written(tmp_path)
    parser = Cells()
    parser.feed(text)
    checks = [[cell[1] for cell in row] for row in parser.rows if row and row[0][0] == "status"]
    assert [row[:3] for row in checks] == [["PART", "2.86/4", "layer output shapes"],
                                           ["PART", "3.43/4", "layer parameters"], ["PART", "4/8", "accuracy (hidden)"]]
    assert checks[1][3] == "Layer 'c3': trainable parameters got 2,000, expected 2,416."
    assert "Score: 10.29/16" in text
    assert "accuracy" in text and "(hidden)" in text
    assert "cell 7, line 3" in text


def test_a_student_before_release_sees_neither_the_hidden_checks_nor_the_hidden_figures(tmp_path):
    withheld = "The hidden checks' results (8 points) appear here after your due date, 2026-12-15 23:59."
    page, text = written(tmp_path, withheld=withheld)
    assert withheld in text.replace("&#x27;", "'")
    assert "Score of the public checks: 6.29/8" in text
    assert "Accuracy 91.5%" not in text and "(hidden)" not in text
    assert re.findall(r'<img src="([^"]+)"', text) == ["kernels.png", "learning_curves.png"]
    assert sorted(p.name for p in page.parent.iterdir()) == ["kernels.png", "learning_curves.png", PAGE]
    assert f"Confusion matrix: {HIDDEN_FIGURE}." in text.replace("&#x27;", "'")
    assert f"Robustness: {HIDDEN_FIGURE}." in text.replace("&#x27;", "'")
    assert "reference model&#x27;s robustness" not in text, "its line adds nothing where robustness is withheld"


def test_pictures_drawn_elsewhere_are_used_and_the_hidden_ones_still_withheld(tmp_path):
    figures = full_figures()
    pictures = draw(figures)
    made = Picture("kernels", "Kernels drawn by the site", "caption", pictures[0].png, "alt")
    page, text = written(tmp_path, figures=figures, pictures=[made, *pictures[1:]], withheld="Later.")
    assert "Kernels drawn by the site" in text
    assert sorted(p.name for p in page.parent.iterdir()) == ["kernels.png", "learning_curves.png", PAGE]


def test_the_missing_figures_are_named_with_their_reasons(tmp_path):
    _, text = written(tmp_path, figures=Figures(layers=LAYERS, missing={
        "kernels": "the model has no convolution.", "curves": "this assignment builds the network without training it",
        "new_figure": "not drawn yet"}))
    assert "Kernels: the model has no convolution.</li>" in text
    assert "Learning curves: this assignment builds the network without training it.</li>" in text
    assert "New figure: not drawn yet.</li>" in text
    assert "<img" not in text


def test_a_grading_without_figures_says_so(tmp_path):
    page = write_report(tmp_path, title="t", who="w", figures=None, checks=CHECKS[:1], notes=[], withheld=None)
    text = page.read_text()
    assert NO_FIGURES.replace("'", "&#x27;") in text and "Score: 2.86/4" in text


def test_a_picture_never_names_a_file_outside_its_folder():
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        png_name(Picture("../report", "t", "c", b"", "a"))


def test_the_largest_report_the_probe_allows_stays_under_two_megabytes(tmp_path):
    from grader.probe.keras_probe import KERNEL_INPUTS, KERNEL_SIDE, KERNELS, REPORT_LAYERS, REPORT_MAPS, REPORT_SIDE

    rng = np.random.default_rng(0)
    # Smooth maps, as activations are (white noise would be no activation at all): 8x8 blocks, blurred.
    coarse = rng.random((REPORT_SIDE // 8, REPORT_SIDE // 8, REPORT_MAPS))
    smooth = np.kron(coarse, np.ones((8, 8, 1)))
    smooth = (smooth + np.roll(smooth, 3, axis=0) + np.roll(smooth, 3, axis=1)) / 3
    figures = Figures(
        layers=tuple(LayerRow(f"layer{n}", "Conv2D", [None, 64, 64, 64], 36928, [None, 64, 64, 32], 18496)
                     for n in range(60)),
        kernels=rng.normal(size=(KERNEL_SIDE, KERNEL_SIDE, KERNEL_INPUTS, KERNELS)),
        digit=np.zeros((2, 28, 28), np.uint8), shift_pixels=(3, 3),
        feature_maps=tuple(FeatureMaps(f"layer{n}", "Conv2D", np.roll(smooth, n, axis=0), np.roll(smooth, n + 3, axis=0),
                                       256) for n in range(REPORT_LAYERS)),
        curves=LearningCurves(loss=tuple(rng.random(1000)), accuracy=tuple(rng.random(1000)),
                              val_loss=tuple(rng.random(1000)), val_accuracy=tuple(rng.random(1000))),
        confusion=rng.integers(0, 30, (19, 19)),
        differences=tuple(Difference(f"example {n}", rng.normal(size=(32, 32)), rng.normal(size=(32, 32)))
                          for n in range(6)))
    page = write_report(tmp_path, title="t", who="w", figures=figures, checks=CHECKS, notes=[], withheld=None)
    sizes = {path.name: path.stat().st_size for path in page.parent.iterdir()}
    assert len(sizes) == 1 + 1 + REPORT_LAYERS + 1 + 1 + 4
    assert max(sizes.values()) < 300_000, sizes
    assert sum(sizes.values()) < 2_000_000, sizes
