"""Text from sandboxes and uploads: invalid Unicode and control characters never get through."""

import json

import pytest

from grader.text import safe_bytes, safe_json, safe_text


@pytest.mark.parametrize("raw, shown", [
    ("plain text, 100%", "plain text, 100%"),
    ("two\nlines\tand a tab", "two\nlines\tand a tab"),
    ("\x1b[2J\x1b[HScore: 100/100", "\\x1b[2J\\x1b[HScore: 100/100"),
    ("fake\rScore: 30/30", "fake\nScore: 30/30"),
    ("windows\r\nline ends", "windows\nline ends"),
    ("bell\x07 and NUL\x00", "bell\\x07 and NUL\\x00"),
    ("C1 \x9b31m red", "C1 \\x9b31m red"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("Trojan \u202eevil\u202c source", "Trojan \\u202eevil\\u202c source"),
    ("中文 and émoji 🙂", "中文 and émoji 🙂"),
])
def test_safe_text(raw, shown):
    assert safe_text(raw) == shown


def test_safe_text_output_always_encodes_as_utf8_and_has_no_control_characters():
    everything = "".join(chr(code) for code in range(0x2100)) + "\udfff\ud800"
    cleaned = safe_text(everything)
    cleaned.encode("utf-8")
    assert not any(ord(c) < 0x20 and c not in "\n\t" or 0x7F <= ord(c) < 0xA0 for c in cleaned)


def test_safe_bytes_replaces_what_is_not_utf8():
    assert safe_bytes(b"ok \xff\xfe \x1b]0;title\x07") == "ok \ufffd\ufffd \\x1b]0;title\\x07"


def test_safe_json_cleans_keys_and_values_at_any_depth():
    parsed = json.loads('{"errors": {"\\u001b[2Jimport": {"message": "\\ud800 boom"}}, "list": [["\\u0007"], 1, null]}')
    assert safe_json(parsed) == {"errors": {"\\x1b[2Jimport": {"message": "\ufffd boom"}}, "list": [["\\x07"], 1, None]}


def test_safe_json_does_not_recurse_on_deep_values():
    deep = current = []
    for _ in range(100_000):
        current.append([])
        current = current[0]
    current.append("\x1b")
    cleaned = safe_json(deep)
    for _ in range(100_000):
        cleaned = cleaned[0]
    assert cleaned == ["\\x1b"]
