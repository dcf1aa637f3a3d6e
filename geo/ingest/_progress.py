"""A progress bar for paged downloads (rows, pages, rate, ETA) on a terminal; silent elsewhere. Private."""

from __future__ import annotations

import os
import sys
import time
from typing import Literal, TextIO

ProgressMode = Literal["auto", "bar", "none"]


class Meter:
    """Counts rows and pages of one layer; the base class shows nothing (CI, logs, tests)."""

    def __init__(self) -> None:
        self.label = ""
        self.total = 0
        self.rows = 0
        self.pages = 0
        self.base = 0
        self.t0 = time.perf_counter()

    def start(self, label: str, total: int, *, done: int = 0) -> None:
        """Begin a layer of ``total`` rows, ``done`` of them already at hand (resumed pages)."""
        self.label, self.total, self.rows, self.pages = label, total, done, 0
        self.base = done
        self.t0 = time.perf_counter()

    def advance(self, rows: int) -> None:
        """One more page of ``rows`` rows."""
        self.rows += rows
        self.pages += 1

    def finish(self) -> None:
        """The layer is done."""

    def line(self) -> str:
        """``label: rows/total rows, pages, rate, ETA``."""
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        rate = (self.rows - self.base) / elapsed
        left = max(self.total - self.rows, 0)
        eta = f"{int(left / rate) // 60}:{int(left / rate) % 60:02d}" if rate > 0 else "?"
        return f"{self.label}: {self.rows:,}/{self.total:,} rows, {self.pages} page(s), {rate:,.0f} rows/s, ETA {eta}"


class BarMeter(Meter):
    """Redraws one line on a terminal, at most ten times a second."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.last = 0.0

    def advance(self, rows: int) -> None:
        """One more page; redraw if a tenth of a second has passed."""
        super().advance(rows)
        now = time.perf_counter()
        if now - self.last >= 0.1:
            self.last = now
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()

    def finish(self) -> None:
        """Draw the last state and end the line."""
        self.stream.write("\r\x1b[K" + self.line() + "\n")
        self.stream.flush()


def make_meter(mode: ProgressMode = "auto", stream: TextIO | None = None) -> Meter:
    """A bar on a terminal (``auto``: when ``stream`` is one and ``$CI`` is unset), else a silent meter."""
    out = stream if stream is not None else sys.stderr
    if mode == "bar" or (mode == "auto" and out.isatty() and not os.environ.get("CI")):
        return BarMeter(out)
    return Meter()
