"""The page's main choices in the address bar, so a link reopens the same view.

A page lists its choices as :class:`Param` values (widget key, short query name, the
allowed options or a type) and calls :func:`restore` before its widgets and
:func:`store` after them:

- :func:`restore` copies a query parameter into the widget's session state when the
  address holds a value this session has not written itself (a shared link, or the
  browser's back and forward buttons), after checking it against the options; an
  unknown value is dropped with a note (:func:`bad_values`), never an error.
- :func:`store` records the current choices for ``st.query_params`` (written by :func:`one_entry`).
- :func:`default` gives a widget its default only when the URL (or an earlier visit)
  has not set its state, so Streamlit never sees both.
- :func:`bound` does the three around a page's widgets: restore, a caption per bad value, store.
- :func:`keep_alive`, called by ``app.py`` before each page, keeps every bound choice
  when the user switches pages (Streamlit otherwise forgets the widgets of a page not
  shown), and opens the run's address; :func:`one_entry`, around the page, writes it.

One history entry per view (back and forward). Streamlit (1.67) pushes a browser history entry
for every change of ``st.query_params`` (``replaceState`` only while it answers back or forward),
and a page switch pushes the new page's path first, with no query. So :func:`store` only collects
the run's choices and :func:`one_entry` writes them all at once when the run ends (one entry);
:data:`HISTORY_JS`, added by :func:`keep_alive`, makes the browser fill in the entry that a page
switch (or the opening of a link) has just made instead of pushing a second one. Back then reruns
the previous page with its own address, and :func:`restore` sets its widgets from it. A
fragment's run (the neighborhood page's search and map) writes its choices itself, in one change.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from geo.text import escape_md

__all__ = [
    "Param",
    "restore",
    "store",
    "default",
    "keep_alive",
    "one_entry",
    "bad_values",
    "bound",
    "page_url",
    "switch_page",
    "BAD_VALUE_TEXT",
    "HISTORY_JS",
]

#: The caption shown for a link's value that is not allowed (``{bad}``: "name=value", escaped).
BAD_VALUE_TEXT = "The link's choice {bad} is not available here; the default is shown instead."
_LAST = "_url_last"
_BAD = "_url_bad"
_PENDING = "_url_pending"
#: Values handed to the next page by :func:`switch_page` (query name -> URL text), and those of this run.
_HANDOVER = "_url_handover"
_HANDED = "_url_handed"
#: This run's address: query name -> URL text (``None``: leave it out); absent outside a full run.
_WANTED = "_url_wanted"
#: Every bound widget key seen by this process (keys only: no user data).
_REGISTRY: dict[str, Param] = {}

#: Installed once per browser tab (Streamlit's pages share one document): while a script run
#: that switched pages (or opened the app) is going, Streamlit's later ``pushState`` calls to that
#: same page become ``replaceState``, so the page's own choices fill in the entry of the switch;
#: the run's end (``data-test-script-state`` neither "running" nor "rerunRequested") or back/forward
#: closes it. Its element is hidden (no gap above the page).
HISTORY_JS = textwrap.dedent(
    """\
    <style>[data-testid="stElementContainer"]:has(#url-history) { display: none; }</style>
    <span id="url-history"></span>
    <script>
    (() => {
      if (window.__urlHistory) return;
      window.__urlHistory = true;
      const h = window.history, push = h.pushState.bind(h), replace = h.replaceState.bind(h);
      const app = () => document.querySelector('[data-testid="stApp"]');
      const state = () => app()?.getAttribute("data-test-script-state");
      const running = () => ["running", "rerunRequested"].includes(state());
      let filling = running() ? location.pathname : null;  // the path whose entry this run fills in
      h.pushState = function (state, title, url) {
        const to = new URL(url, location.href);
        if (filling !== null && to.pathname === filling) return replace(state, title, url);
        if (to.pathname !== location.pathname) filling = to.pathname;
        return push(state, title, url);
      };
      const root = app();
      if (root) {
        new MutationObserver(() => { if (!running()) filling = null; })
          .observe(root, { attributes: true, attributeFilter: ["data-test-script-state"] });
      }
      window.addEventListener("popstate", () => { filling = null; });
    })();
    </script>
    """
)


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
    handed = st.session_state.get(_HANDED) or {}
    for p in params:
        if keep:
            _REGISTRY[p.key] = p
        given = handed.get(p.name)
        raw = given if given is not None else st.query_params.get(p.name)
        if raw is None or (given is None and last.get(p.name) == raw):
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
    """Record the current choices for the URL (written by :func:`one_entry`; in a fragment's run, now)."""
    last = st.session_state.setdefault(_LAST, {})
    changes: dict[str, str | None] = {}
    for p in params:
        value = st.session_state.get(p.key)
        if value is None or (p.omit is not None and value == p.omit):
            changes[p.name] = None
            last.pop(p.name, None)
        else:
            changes[p.name] = last[p.name] = p.dump(value)
    wanted = _wanted()
    if wanted is not None:
        wanted.update(changes)
    else:
        _write(changes)


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
    """Keep the bound choices across page switches, and open this run's address (see :func:`one_entry`).

    Re-assigning a widget's state interrupts Streamlit's clean-up of the widgets of a page not
    shown. Called once per run, before the sidebar and the page; it also adds :data:`HISTORY_JS`.
    """
    for key in list(_REGISTRY):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.session_state[_WANTED] = {}
    st.session_state[_HANDED] = st.session_state.pop(_HANDOVER, None)  # for this run only
    st.html(HISTORY_JS, unsafe_allow_javascript=True)


def switch_page(page: Any, params: Mapping[str, str]) -> None:
    """Open ``page`` with ``params`` (query name -> URL text) as if its link held them.

    ``st.switch_page(page, query_params=...)`` writes them to the current page's address first,
    which leaves a history entry mixing the two pages; handed over this way, the next run's
    :func:`restore` reads them (checked like a link's) and the new page writes its own address.
    """
    st.session_state[_HANDOVER] = dict(params)
    st.switch_page(page)


@contextlib.contextmanager
def one_entry() -> Iterator[None]:
    """Around the page: write the run's choices to the URL at once, when the run ends.

    One change of ``st.query_params`` per run is one browser history entry (or, right after a
    page switch, the switch's own entry filled in: :data:`HISTORY_JS`). The browser starts a
    switched-to page with no query (Streamlit drops the old page's), so that entry holds this
    page's and the sidebar's parameters only. A run cut short by a rerun writes nothing (the
    rerun will); one stopped or failed writes what it stored.
    """
    try:
        yield
    except BaseException as exc:
        wanted = st.session_state.pop(_WANTED, None)
        if wanted is not None and not _is_rerun(exc):
            _write(wanted)
        raise
    wanted = st.session_state.pop(_WANTED, None)
    if wanted is not None:
        _write(wanted)


def _write(wanted: Mapping[str, str | None]) -> None:
    """Change the address to hold ``wanted`` (``None``: left out), in one change of ``st.query_params``."""
    current = st.query_params.to_dict()
    merged = {**current, **wanted}  # the address's order, new names last; names no page stored are kept
    target = {name: raw for name, raw in merged.items() if raw is not None}
    if target != current:
        st.query_params.from_dict(target)


def _is_rerun(exc: BaseException) -> bool:
    """A rerun request (``st.rerun``, ``st.switch_page``, a newer run) unwinding the script."""
    return type(exc).__name__ == "RerunException"


def _wanted() -> dict[str, str | None] | None:
    """The address this run is collecting, or None (outside a full run of ``app.py``, or in a fragment's run)."""
    wanted = st.session_state.get(_WANTED)
    if wanted is None:
        return None
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:
        return None
    return cast("dict[str, str | None]", wanted)


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
    """The address of the page as it is now (with its query parameters), for "a link back"; None outside a browser.

    In a full run the choices stored so far are used (they reach the address when the run ends).
    """
    from urllib.parse import urlencode

    url = st.context.url
    if not url:
        return None
    params = st.query_params.to_dict()
    wanted = _wanted()
    if wanted is not None:
        params.update(wanted)
    query = {name: raw for name, raw in params.items() if raw is not None}
    return f"{url}?{urlencode(query)}" if query else url
