"""The terminal feedback: which check messages a student reads."""

from grader.feedback import format_report
from grader.results import CheckResult, GradingReport


def test_a_passed_check_is_one_line_unless_it_is_informational():
    report = GradingReport("lenet5", "s01", [
        CheckResult.scored("shapes", 2, 1.0, "Input and output as expected."),
        CheckResult.scored("params", 4, 0.5, "Layer 'c3': trainable parameters got 2,416, expected 1,516."),
        CheckResult.scored("shift invariance (informational)", 0, 1.0, "At 2-pixel shifts: 82.0%; the reference: 81.5%."),
    ], notes=["Trained on 7,200 digits."])

    text = format_report(report, "lenet5")

    assert "Input and output as expected." not in text
    assert "        Layer 'c3': trainable parameters got 2,416" in text
    assert "[PASS] 0/0  shift invariance (informational)\n        At 2-pixel shifts: 82.0%" in text
    assert text.startswith("lenet5 for s01: 4 / 6 points\n\nNote: Trained on 7,200 digits.")
