"""The report's figures kept with each grading: stored, read back, per grading, absent where none."""

import numpy as np
import pytest
from sqlalchemy import text

from grader.pictures.figures import Figures, LayerRow, LearningCurves, RobustnessCurve
from tests.grader.store.helpers import report, submit


def figures(seed: int = 0) -> Figures:
    rng = np.random.default_rng(seed)
    return Figures(layers=(LayerRow("c1", "Conv2D", [None, 28, 28, 6], 156, [None, 28, 28, 6], 156),),
                   kernel_layer="c1", kernels=rng.normal(size=(5, 5, 1, 6)).astype("float32"),
                   curves=LearningCurves((1.0, 0.5), (0.6, 0.9), (1.1, 0.7), (0.5, 0.8), 7200, 800),
                   confusion=np.diag(np.arange(10)), robustness=(RobustnessCurve("shift", (0, 1, 2), (0.9, 0.8, 0.5), 400),),
                   missing={"feature_maps": "the model has no convolution"})


def with_figures(version: str, value: Figures | None):
    graded = report(version)
    graded.figures = value
    return graded


def test_each_grading_keeps_its_own_figures(gradebook):
    submission_id, _ = submit(gradebook)
    first = gradebook.record_report(submission_id, with_figures("v1", figures(1)))
    second = gradebook.record_report(submission_id, with_figures("v2", figures(2)))

    current, earlier = gradebook.figures(submission_id), gradebook.figures(submission_id, first)

    assert current.kernels.tolist() == figures(2).kernels.astype("float16").tolist()
    assert earlier.kernels.tolist() == figures(1).kernels.astype("float16").tolist()
    assert current.confusion.tolist() == np.diag(np.arange(10)).tolist()
    assert current.layers == figures().layers and current.curves == figures().curves
    assert current.robustness == figures().robustness and current.missing == figures().missing
    assert gradebook.figures(submission_id, second).kernels.tolist() == current.kernels.tolist()


def test_a_grading_without_figures_and_an_ungraded_submission_have_none(gradebook):
    submission_id, _ = submit(gradebook)
    assert gradebook.figures(submission_id) is None
    gradebook.record_report(submission_id, with_figures("v1", None))
    assert gradebook.figures(submission_id) is None
    gradebook.record_error(submission_id, "The grader failed.", "log")
    assert gradebook.figures(submission_id) is None


def test_figures_of_another_submissions_grading_are_refused(gradebook):
    first, _ = submit(gradebook)
    other, _ = submit(gradebook, student="s002")
    grading = gradebook.record_report(other, with_figures("v1", figures()))
    with pytest.raises(ValueError, match=f"Expected a grading of submission {first}"):
        gradebook.figures(first, grading)


def test_damaged_stored_figures_read_as_none(gradebook):
    submission_id, _ = submit(gradebook)
    grading = gradebook.record_report(submission_id, with_figures("v1", figures()))
    with gradebook.engine.begin() as connection:
        connection.execute(text("UPDATE gradings SET figures = :value WHERE id = :id"),
                           {"value": '{"kernels": {"dtype": "object", "shape": [1], "data": ""}}', "id": grading})
    assert gradebook.figures(submission_id) is None


def test_listing_submissions_does_not_load_figures(gradebook):
    submission_id, _ = submit(gradebook)
    gradebook.record_report(submission_id, with_figures("v1", figures()))
    statements = []
    from sqlalchemy import event

    listen = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(gradebook.engine, "before_cursor_execute", listen)
    try:
        gradebook.submissions()
    finally:
        event.remove(gradebook.engine, "before_cursor_execute", listen)
    assert statements and not any("figures" in statement for statement in statements)
