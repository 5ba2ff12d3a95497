"""Makes text that comes from a sandbox or an upload safe to print, store and render: once, where it enters."""

from __future__ import annotations

import re
from typing import Any

_REPLACEMENT = "\ufffd"
# A lone surrogate ("\ud800" in a JSON string, say) cannot be encoded as UTF-8: the gradebook write
# failed on one and left the submission "grading".
_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters move the cursor, clear the screen or recolour it in the instructor's
# terminal: an ESC sequence in a student's exception message could hide a line and print a fake
# score. Newline and tab are kept; a carriage return is turned into a newline so that no line can be
# overwritten. The bidirectional overrides and isolates reorder what is shown ("Trojan Source").
_ESCAPED = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_TRANSLATION = {code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _ESCAPED}
_TRANSLATION |= {ord("\n"): "\n", ord("\t"): "\t"}


def safe_text(text: str) -> str:
    """`text` with invalid Unicode replaced by U+FFFD and control characters written as escapes
    (`\\x1b`), except newline and tab; "\\r\\n" and "\\r" become "\\n"."""
    text = _SURROGATES.sub(_REPLACEMENT, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_TRANSLATION)


def safe_bytes(data: bytes) -> str:
    """Bytes a sandbox printed, as safe text: UTF-8 with undecodable bytes replaced."""
    return safe_text(data.decode("utf-8", errors="replace"))


def safe_json(value: Any) -> Any:
    """A parsed JSON value with every string in it, keys included, made safe by safe_text.

    Iterative, so a deeply nested value (which json.loads accepted) cannot exhaust the stack.
    """
    if isinstance(value, str):
        return safe_text(value)
    if not isinstance(value, (dict, list)):
        return value
    top: Any = {} if isinstance(value, dict) else []
    pending = [(value, top)]
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, (dict, list)):
                cleaned: Any = {} if isinstance(item, dict) else []
                pending.append((item, cleaned))
            else:
                cleaned = safe_text(item) if isinstance(item, str) else item
            if isinstance(target, dict):
                target[safe_text(key) if isinstance(key, str) else key] = cleaned
            else:
                target.append(cleaned)
    return top
