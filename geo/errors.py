"""Exceptions raised by :mod:`geo`, and warnings as data.

The exceptions subclass built-ins so that callers may catch ``ValueError`` or
``FileNotFoundError``; the command line and the app catch :class:`GeoDataError`
and show its message, never a traceback.

A :class:`GeoWarning` is a code and a text: results carry them in their ``warnings``,
``str(w)`` is the text people read, and a page that shows some warnings and not others
filters on ``w.code``, never on the wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "GeoWarning",
    "GeoDataError",
    "DataFileError",
    "SchemaError",
    "ValueDomainError",
    "CRSError",
    "GeometryError",
    "EmptyInputError",
    "FetchError",
    "first_rows",
]


@dataclass(frozen=True)
class GeoWarning:
    """A warning about a result, as data: a stable ``code`` and the ``text`` people read.

    Attributes
    ----------
    code
        Stable identifier to filter on (e.g. ``"islands"``, ``"small_sample"``); the
        codes used are listed where the warnings are made.
    text
        Plain words; ``str(warning)`` returns it.

    Examples
    --------
    >>> w = GeoWarning("small_sample", "only 14 units were tested")
    >>> str(w), w.code
    ('only 14 units were tested', 'small_sample')
    """

    code: str
    text: str

    def __str__(self) -> str:
        return self.text


class GeoDataError(ValueError):
    """Base class for every problem with input data that a user can fix."""


class DataFileError(GeoDataError):
    """A file is missing, empty, or not of the expected format."""


class SchemaError(GeoDataError):
    """Expected columns are missing or have the wrong type."""


class ValueDomainError(GeoDataError):
    """Values in a column fall outside what is allowed (unknown categories, unparseable)."""


class CRSError(GeoDataError):
    """A layer has no CRS, or a CRS unsuitable for the operation."""


class GeometryError(GeoDataError):
    """Geometry is missing, empty or cannot be repaired."""


class EmptyInputError(GeoDataError):
    """An input or a filter leaves no rows to work on."""


class FetchError(GeoDataError):
    """Downloading or copying a data set failed."""


def first_rows(rows: Iterable[int], *, limit: int = 5) -> str:
    """Format the first few row numbers, e.g. ``"rows 3, 17, 42 (and 12 more)"``.

    Parameters
    ----------
    rows
        Row numbers as the user sees them (1-based data rows, header excluded).
    limit
        How many to show before summarising the rest.
    """
    rows = list(rows)
    if not rows:
        return "no rows"
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" (and {len(rows) - limit} more)" if len(rows) > limit else ""
    word = "row" if len(rows) == 1 else "rows"
    return f"{word} {shown}{more}"


def quote_values(values: Sequence[object], *, limit: int = 8) -> str:
    """Format values for a message: ``'a', 'b' (and 3 more)``."""
    vals = list(values)
    shown = ", ".join(repr(v) for v in vals[:limit])
    more = f" (and {len(vals) - limit} more)" if len(vals) > limit else ""
    return shown + more
