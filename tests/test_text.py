"""geo.text.escape_md: text from the data can neither format, link, colour nor typeset maths."""

from __future__ import annotations

import re

import pytest

from geo.output.report import markdown_runs
from geo.text import escape_md


@pytest.mark.parametrize(
    "raw",
    ["$x^2$", ":red[alarm]", ":smile:", "a*b*", "[x](javascript:alert(1))", "<script>alert(1)</script>", "10:30 - $5"],
)
def test_special_characters_are_escaped_and_read_back(raw):
    out = escape_md(raw)
    # every $, directive colon (and the other Markdown punctuation) is preceded by a backslash
    assert not re.search(r"(?<!\\)([$*\[\]]|:\w+[\[:])", out)
    assert "<script>" not in out
    # the report writer reads the escaped text back as exactly the original characters
    assert "".join(text for text, _bold in markdown_runs(out)) == raw


def test_a_plain_colon_stays_plain():
    assert escape_md("driver gender: Female") == "driver gender: Female"
