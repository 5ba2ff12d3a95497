"""Turns a GradingReport into the text a student reads in a terminal."""

from __future__ import annotations

import textwrap

from grader.results import GradingReport

MARKS = {"passed": "PASS", "partial": "PART", "failed": "FAIL", "error": "ERR "}


def format_report(report: GradingReport, title: str) -> str:
    who = f" for {report.student}" if report.student else ""
    lines = [f"{title}{who}: {report.score:g} / {report.max_score:g} points", ""]
    # Notes first: an error of the student's code is shown there once, and the checks it stopped refer to it.
    for note in report.notes:
        first, *rest = note.split("\n")
        lines += [f"Note: {first}", *(textwrap.indent(line, "      ") for line in rest)]
    if report.notes:
        lines.append("")
    for check in report.checks:
        hidden = " (hidden)" if check.hidden else ""
        lines.append(f"[{MARKS[check.status]}] {check.points:g}/{check.max_points:g}  {check.name}{hidden}")
        if check.status != "passed" or check.max_points == 0:  # an informational check is all message
            lines.append(textwrap.indent(check.message, "        "))
    timing = ", ".join(f"{name} {seconds:.0f} s ({report.phase_cpu_seconds.get(name, 0):.0f} s CPU)"
                       for name, seconds in report.phase_seconds.items())
    lines.append(f"\nGraded in {report.execution_seconds:.0f} s" + (f" ({timing})" if timing else "")
                 + f"; grader {report.grader_version}.")
    return "\n".join(lines)
