"""The page's main choices in the address bar, so a link reopens the same view.

A page lists its choices as :class:`Param` values (widget key, short query name, the
allowed options or a type) and calls :func:`restore` before its widgets and
:func:`store` after them:

- :func:`restore` copies a query parameter into the widget's session state when the
  address holds a value this session has not written itself (a shared link, or the
  browser's back and forward buttons), after checking it against the options; an
  unknown value is dropped with a note (:func:`bad_values`), never an error.
- :func:`store` writes the current choices back to ``st.query_params``.
- :func:`default` gives a widget its default only when the URL (or an earlier visit)
  has not set its state, so Streamlit never sees both.
- :func:`bound` does the three around a page's widgets: restore, a caption per bad value, store.
- :func:`keep_alive`, called by ``app.py`` before each page, keeps every bound choice
  when the user switches pages (Streamlit otherwise forgets the widgets of a page not
  shown).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from geo.text import escape_md

__all__ = ["Param", "restore", "store", "default", "keep_alive", "bad_values", "bound", "BAD_VALUE_TEXT"]

#: The caption shown for a link's value that is not allowed (``{bad}``: "name=value", escaped).
BAD_VALUE_TEXT = "The link's choice {bad} is not available here; the default is shown instead."
_LAST = "_url_last"
_BAD = "_url_bad"
_PENDING = "_url_pending"
#: Every bound widget key seen by this process (keys only: no user data).
_REGISTRY: dict[str, Param] = {}


@dataclass(frozen=True)
class Param:
    """One choice kept in the URL.

    Attributes
    ----------
    key
        The widget's session-state key.
    name
        The query parameter (short, stable: part of shared links).
    options
        The allowed values (matched by their text); ``None``: any value of ``kind``.
    kind
        ``str``, ``int``, ``float`` or ``bool`` when there are no options.
    multi
        A list of options (multiselect), written comma-separated.
    pair
        A (low, high) range of options (range slider), written ``low~high``.
    codes
        Short URL text per option (e.g. ``{"Queen contiguity ...": "queen"}``).
    omit
        A value left out of the URL (the default, e.g. an empty filter).
    """

    key: str
    name: str
    options: Sequence[Any] | None = None
    kind: Callable[[str], Any] = str
    multi: bool = False
    pair: bool = False
    codes: Mapping[Any, str] | None = None
    omit: Any = None

    def parse(self, raw: str) -> Any:
        """The widget value for the URL text ``raw``; ``ValueError`` when not allowed."""
        if self.multi:
            return [self._one(part) for part in raw.split(",") if part]
        if self.pair:
            low, _, high = raw.partition("~")
            return (self._one(low), self._one(high))
        return self._one(raw)

    def dump(self, value: Any) -> str:
        """The URL text of a widget value."""
        if self.multi:
            return ",".join(self._text(v) for v in value)
        if self.pair:
            return "~".join(self._text(v) for v in value)
        return self._text(value)

    def _text(self, value: Any) -> str:
        return self.codes.get(value, str(value)) if self.codes else str(value)

    def _one(self, raw: str) -> Any:
        if self.options is not None or self.codes is not None:
            for option in self.options if self.options is not None else list(self.codes or {}):
                if self._text(option) == raw:
                    return option
            raise ValueError(raw)
        if self.kind is bool:
            if raw not in ("True", "False"):
                raise ValueError(raw)
            return raw == "True"
        return self.kind(raw)


def restore(params: Sequence[Param], *, keep: bool = True) -> None:
    """Copy the URL's values into session state (shared links, back and forward).

    ``keep=False`` for widgets drawn on every page (the sidebar): :func:`keep_alive`
    need not, and must not, touch them (a range slider re-assigned that way loses its
    second end in Streamlit's test runner).
    """
    last = st.session_state.setdefault(_LAST, {})
    bad = st.session_state.setdefault(_BAD, [])
    for p in params:
        if keep:
            _REGISTRY[p.key] = p
        raw = st.query_params.get(p.name)
        if raw is None or last.get(p.name) == raw:
            continue
        last[p.name] = raw
        try:
            value = p.parse(raw)
        except (ValueError, TypeError):
            bad.append(f"{p.name}={raw}")
            continue
        if p.pair and p.key not in st.session_state:
            # a range slider is a range only when given a value: hand it over through default()
            st.session_state.setdefault(_PENDING, {})[p.key] = value
        else:
            st.session_state[p.key] = value


def store(params: Sequence[Param]) -> None:
    """Write the current choices to the URL."""
    last = st.session_state.setdefault(_LAST, {})
    for p in params:
        value = st.session_state.get(p.key)
        if value is None or (p.omit is not None and value == p.omit):
            if p.name in st.query_params:
                del st.query_params[p.name]
            last.pop(p.name, None)
            continue
        raw = p.dump(value)
        if st.query_params.get(p.name) != raw:
            st.query_params[p.name] = raw
        last[p.name] = raw


def default(key: str, value: Any, name: str = "value", *, always: bool = False) -> dict[str, Any]:
    """``{name: value}`` for a widget unless its state is already set (by the URL or an earlier run).

    ``always=True`` for a range slider, which needs its value every run: the URL's
    range, else the current one, else ``value``.
    """
    pending = st.session_state.get(_PENDING, {})
    if key in pending:
        return {name: pending.pop(key)}
    if always:
        return {name: st.session_state.get(key, value)}
    return {} if key in st.session_state else {name: value}


def keep_alive() -> None:
    """Keep the bound choices across page switches (re-assigning interrupts Streamlit's widget clean-up)."""
    for key in list(_REGISTRY):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def bad_values() -> list[str]:
    """URL values that were not allowed (shown once by the page, then forgotten)."""
    return st.session_state.pop(_BAD, [])


@contextlib.contextmanager
def bound(params: Sequence[Param], *, keep: bool = True, boxed: bool = False) -> Iterator[None]:
    """Around a page's widgets: :func:`restore` the URL's values, caption each bad one, :func:`store` after.

    The choices are stored even when the body raises (the address keeps what was chosen).
    ``boxed=True`` puts the captions in a container drawn every run, so the page's layout is the
    same with or without them (a map below then stays the map the browser has drawn).

    Examples
    --------
    >>> with url_state.bound(PARAMS):  # doctest: +SKIP
    ...     draw_the_widgets()
    """
    restore(params, keep=keep)
    with st.container() if boxed else contextlib.nullcontext():
        for bad in bad_values():
            st.caption(BAD_VALUE_TEXT.format(bad=escape_md(bad)))
    try:
        yield
    finally:
        store(params)


def page_url() -> str | None:
    """The address of the page as it is now (with its query parameters), for "a link back"; None outside a browser."""
    from urllib.parse import urlencode

    url = st.context.url
    if not url:
        return None
    params = st.query_params.to_dict()
    return f"{url}?{urlencode(params)}" if params else url
