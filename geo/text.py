"""Text from the data, made safe for the places it is shown."""

from __future__ import annotations

import html
import re

__all__ = ["escape_md"]


_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+!|~>$-]|:(?=[\w+-]+[\[:]))")


def escape_md(text: object) -> str:
    r"""Escape text from the data for Markdown (``st.markdown``).

    HTML special characters become entities (so ``<script>`` shows as text) and
    Markdown punctuation is backslash-escaped (so ``*`` or ``[x](y)`` cannot format
    or link), and so are ``$`` (Streamlit reads ``$x^2$`` as maths) and a ``:`` that
    starts a directive or shortcode (``:red[...]`` colours, ``:smile:`` is an emoji);
    "gender: Female" keeps its plain colon.

    Examples
    --------
    >>> escape_md("<b>a*b</b>")
    '&lt;b&gt;a\\*b&lt;/b&gt;'
    >>> escape_md(":red[$x$]")
    '\\:red\\[\\$x\\$\\]'
    """
    return _MD_PUNCTUATION.sub(r"\\\1", html.escape(str(text), quote=False))
