"""The feedback report with pictures: the numbers a grading gathers (figures), how they are drawn, the page."""
