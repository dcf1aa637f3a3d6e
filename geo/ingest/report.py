"""Row accounting: what a loader read, kept, repaired and set aside, and why.

Every loader returns its frame together with a :class:`LoadReport`. Nothing is
dropped without an entry here, so the command line (``python -m geo report``) and
the app can show exactly what happened to every input row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from geo.errors import first_rows

__all__ = ["Issue", "LoadReport"]


Action = Literal["repaired", "set_aside", "flagged", "kept"]


@dataclass
class Issue:
    """One kind of problem found in one column.

    Attributes
    ----------
    action
        ``repaired`` (value changed, row kept), ``flagged`` (row kept as is with a flag
        column), ``kept`` (row kept under a named bucket, e.g. no division recorded) or
        ``set_aside`` (row not in the clean frame).
    column
        The column concerned (or ``"geometry"``).
    reason
        Plain words.
    rows
        Row numbers as the user sees them (1-based data rows).
    """

    action: Action
    column: str
    reason: str
    rows: list[int] = field(default_factory=list)
    file: str = ""

    @property
    def count(self) -> int:
        """Rows concerned."""
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the first 10 row numbers only (see :func:`report_to_cache_dict`)."""
        return {
            "action": self.action,
            "column": self.column,
            "reason": self.reason,
            "count": self.count,
            "first_rows": self.rows[:10],
            **({"file": self.file} if self.file else {}),
        }


@dataclass
class LoadReport:
    """What happened to the rows of one input file.

    Attributes
    ----------
    name
        Data set name (``stops``, ``divisions``, ...).
    source
        The file read.
    rows_read
        Data rows (or features) in the file.
    issues
        Every repair, flag and set-aside, with reasons and row numbers.
    notes
        Free-text facts worth showing (e.g. which division layer was chosen).
    """

    name: str
    source: str
    rows_read: int = 0
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, action: Action, column: str, reason: str, rows: Iterable[int] | np.ndarray, *, file: str = ""
    ) -> None:
        """Record an issue; an empty ``rows`` records nothing.

        ``file`` names the file when one report covers several files (rows are
        counted per file).
        """
        rows = [int(r) for r in np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows).ravel()]
        if rows:
            self.issues.append(Issue(action, column, reason, sorted(rows), file))

    def _rows(self, action: Action) -> set[tuple[str, int]]:
        out: set[tuple[str, int]] = set()
        for i in self.issues:
            if i.action == action:
                out.update((i.file, r) for r in i.rows)
        return out

    @property
    def rows_set_aside(self) -> int:
        """Rows left out of the clean frame (a row counts once, whatever its reasons)."""
        return len(self._rows("set_aside"))

    @property
    def rows_kept(self) -> int:
        """Rows in the clean frame."""
        return self.rows_read - self.rows_set_aside

    @property
    def rows_repaired(self) -> int:
        """Rows with a value changed."""
        return len(self._rows("repaired"))

    @property
    def rows_flagged(self) -> int:
        """Rows kept with a flag or under a named bucket."""
        return len(self._rows("flagged") | self._rows("kept"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the row counts and every issue (see :meth:`Issue.to_dict`)."""
        return {
            "name": self.name,
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_repaired": self.rows_repaired,
            "rows_flagged": self.rows_flagged,
            "rows_set_aside": self.rows_set_aside,
            "issues": [i.to_dict() for i in self.issues],
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """Plain-text report, one line per issue."""
        lines = [
            f"{self.name}: {self.source}",
            f"  read {self.rows_read:,}; kept {self.rows_kept:,}; repaired {self.rows_repaired:,}; "
            f"flagged {self.rows_flagged:,}; set aside {self.rows_set_aside:,}",
        ]
        for i in self.issues:
            where = f"{i.file}, " if i.file else ""
            lines.append(
                f"  - {i.action.replace('_', ' ')} {i.count:,} [{i.column}]: {i.reason} ({where}{first_rows(i.rows)})"
            )
        for n in self.notes:
            lines.append(f"  * {n}")
        return "\n".join(lines)


def report_from_dict(d: dict[str, Any]) -> LoadReport:
    """Rebuild a :class:`LoadReport` from :meth:`LoadReport.to_dict` output plus full rows.

    The cache stores issues with all their rows under ``"rows"``.
    """
    rep = LoadReport(d["name"], d["source"], rows_read=d["rows_read"], notes=list(d.get("notes", [])))
    for i in d["issues"]:
        rep.issues.append(
            Issue(
                i["action"], i["column"], i["reason"], list(i.get("rows", i.get("first_rows", []))), i.get("file", "")
            )
        )
    return rep


def report_to_cache_dict(report: LoadReport) -> dict[str, Any]:
    """Like :meth:`LoadReport.to_dict` but keeping every row number (for the cache)."""
    d = report.to_dict()
    for out, issue in zip(d["issues"], report.issues, strict=True):
        out["rows"] = issue.rows
    return d
