"""keywire._display: text from a target is shown visibly, never acted on."""

from __future__ import annotations

import json

import pytest

from keywire._display import is_unsafe, json_inert, visible, visible_block

HOSTILE = (
    "a\nkeywire: gate passed\r\n\tGrade A\x1b[2J\x1b]0;pwned\x07\x00\x7f\x9b"
    "\u202egnp\u2066\u200b\u2028\u2029\ufeff\U000e0041\udcff"
)


def test_visible_leaves_ordinary_text_alone():
    text = "https://api.example/v1?x=1 — naïve 日本語 emoji 🔑 back\\slash"
    assert visible(text) == text
    assert visible_block(text + "\nline two") == text + "\nline two"


def test_visible_escapes_every_control_and_format_character():
    shown = visible(HOSTILE)
    assert not any(is_unsafe(c) for c in shown)
    assert "\n" not in shown and "\r" not in shown and "\t" not in shown
    for escape in (
        "\\n",
        "\\r",
        "\\t",
        "\\x1b[2J",
        "\\x1b]0;pwned\\x07",
        "\\x00",
        "\\x7f",
        "\\x9b",
        "\\u202e",
        "\\u2066",
        "\\u200b",
        "\\u2028",
        "\\u2029",
        "\\ufeff",
        "\\U000e0041",
        "\\udcff",
    ):
        assert escape in shown, escape
    shown.encode("utf-8")  # a lone surrogate would not encode


def test_visible_block_keeps_line_breaks_only():
    shown = visible_block("def f():\n    return '\x1b[31m'\r\n")
    assert shown == "def f():\n    return '\\x1b[31m'\\r\n"


@pytest.mark.parametrize("indent", [None, 2])
def test_json_inert_keeps_the_data_and_escapes_the_rest(indent):
    value = {"key\u202e": HOSTILE, "list": [HOSTILE, "plain"]}
    document = json_inert(json.dumps(value, indent=indent, ensure_ascii=False))
    assert json.loads(document) == value
    assert not any(is_unsafe(c) and c != "\n" for c in document)
    document.encode("utf-8")
