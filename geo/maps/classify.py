"""Classifying values for a choropleth (mapclassify): quantiles, Fisher-Jenks, natural breaks, equal interval, box map.

Importing mapclassify takes seconds (it brings matplotlib, scikit-learn and scipy.stats: 3.4 s on the
development machine, the largest part of the Map explorer's first map after a server start), so the
breaks it computes are remembered on disk (:func:`_remembered_bins`): ``Settings.cache_dir / "classes"``,
one small JSON entry per values, scheme, ``k`` and seed, keyed with the mapclassify and scikit-learn
versions. The same choropleth in a later process needs no mapclassify at all; the breaks are the ones
mapclassify gave. An entry that cannot be read or does not match its key and digest is rebuilt with
one line on standard error.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import branca.utilities
import numpy as np
import pandas as pd

from geo.errors import SchemaError, ValueDomainError, first_rows, quote_values
from geo.ingest.cache import note_rebuild
from geo.ingest.files import atomic_path
from geo.maps.palettes import SEQUENTIAL_CMAPS
from geo.settings import get_settings

__all__ = ["Scheme", "Classification", "classify", "ramp"]


Scheme = Literal["quantiles", "fisher_jenks", "natural_breaks", "equal_interval", "box_plot"]


_SCHEMES: tuple[str, ...] = get_args(Scheme)


#: Above this many values Fisher-Jenks (pure Python here, O(n²)) runs on a seeded sample.
_FISHER_JENKS_MAX_N = 1000

#: Bump when the breaks of a scheme change here (an upgrade of mapclassify or scikit-learn is keyed by its version).
BREAKS_VERSION = "1"


@dataclass(frozen=True)
class Classification:
    """Classes of a numeric column, as drawn by :func:`choropleth`.

    Attributes
    ----------
    scheme
        The classification scheme used.
    bins
        Upper bound of each class (class ``i`` holds ``bins[i-1] < v <= bins[i]``).
    labels
        Legend label of each class.
    classes
        Class index of every input value; ``-1`` where the value is missing.
    counts
        Number of values in each class.
    n_missing
        Number of missing values.
    k_requested
        The ``k`` asked for (``len(bins)`` may be smaller, see ``note``).
    note
        Why the classes differ from what was asked for (empty if they do not).
    """

    scheme: str
    bins: tuple[float, ...]
    labels: tuple[str, ...]
    classes: np.ndarray
    counts: tuple[int, ...]
    n_missing: int
    k_requested: int
    note: str = ""

    @property
    def k(self) -> int:
        """Number of classes actually formed."""
        return len(self.bins)


def _number_format(values: np.ndarray, bins: np.ndarray | None = None) -> str:
    """Choose a format for ``values``: whole numbers stay whole, else enough decimals to tell ``bins`` apart."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "{:,.2f}"
    if np.all(np.equal(np.mod(finite, 1), 0)):
        return "{:,.0f}"
    magnitude = float(np.median(np.abs(finite))) or float(np.abs(finite).max()) or 1.0
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 1 else min(6, 1 - math.floor(math.log10(magnitude)))
    if bins is not None:
        distinct = np.unique(bins).size
        while decimals < 6 and len({f"{b:,.{decimals}f}" for b in bins}) < distinct:
            decimals += 1
    return f"{{:,.{decimals}f}}"


def _fmt(fmt: str, value: float) -> str:
    text = fmt.format(value)
    return "0" if re.fullmatch(r"-0(?:\.0*)?", text) else text


def _natural_breaks_bins(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Compute NaturalBreaks bins like mapclassify (1-D k-means, best of 10), but seeded and thread-safe."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=seed).fit(y.reshape(-1, 1))
    return np.sort(np.array([y[km.labels_ == c].max() for c in range(k)]))


def _fisher_jenks_bins(y: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, str]:
    note = ""
    sample = y
    if y.size > _FISHER_JENKS_MAX_N:
        rng = np.random.default_rng(seed)
        sample = np.concatenate([rng.choice(y, _FISHER_JENKS_MAX_N - 2, replace=False), [y.min(), y.max()]])
        k = min(k, np.unique(sample).size)
        note = (
            f"Fisher-Jenks breaks from a random sample of {_FISHER_JENKS_MAX_N:,} of {y.size:,} values (seed {seed})."
        )
    import mapclassify  # not at import time: it brings matplotlib and scikit-learn (seconds), and categorical maps never need it

    bins = np.asarray(mapclassify.FisherJenks(sample, k=k).bins, dtype=float)
    bins[-1] = y.max()
    return bins, note


def classify(
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    scheme: Scheme = "quantiles",
    k: int = 5,
    seed: int | None = None,
    value_format: str | None = None,
) -> Classification:
    """Put numeric values into classes for a choropleth, never failing on awkward data.

    Missing values (NaN, None) get class ``-1``. When there are fewer distinct values
    than ``k`` (or ties make quantile breaks coincide) fewer classes are formed and
    :attr:`Classification.note` says so; one distinct value gives one class.

    Parameters
    ----------
    values
        Numbers to classify.
    scheme
        ``quantiles`` (equal counts), ``fisher_jenks`` (optimal breaks; on more than
        1,000 values, computed on a seeded sample), ``natural_breaks`` (1-D k-means, seeded),
        ``equal_interval`` or ``box_plot`` (6 classes: outliers, whiskers and quartiles;
        ``k`` is ignored).
    k
        Number of classes, 2 to 12.
    seed
        Seed for ``natural_breaks`` and for the Fisher-Jenks sample; default
        :func:`geo.settings.get_settings` ``.seed``.
    value_format
        ``str.format`` pattern for numbers in labels, e.g. ``"{:,.1f}"``; default
        chosen from the spread of the values.

    Raises
    ------
    ValueError
        If ``scheme`` or ``k`` is not allowed.
    SchemaError
        If the values are not numeric.
    ValueDomainError
        If some values are infinite.

    Examples
    --------
    >>> c = classify([1, 2, 3, 4, 100, None], scheme="quantiles", k=2)
    >>> c.bins, c.counts, c.n_missing
    ((3.0, 100.0), (3, 2), 1)
    """
    arr = _checked_values(values, scheme=scheme, k=k)
    seed = get_settings().seed if seed is None else int(seed)
    missing = np.isnan(arr)
    y = arr[~missing]
    n_unique = np.unique(y).size
    if n_unique < 2:
        return _one_class_or_none(y, missing, scheme=scheme, k=k, value_format=value_format)

    bins, notes = _breaks(y, scheme=scheme, k=k, n_unique=n_unique, seed=seed)
    classes = np.full(arr.shape, -1, dtype=int)
    classes[~missing] = np.minimum(np.searchsorted(bins, y, side="left"), bins.size - 1)
    counts = np.bincount(classes[~missing], minlength=bins.size)
    if scheme == "box_plot":
        labels = _box_plot_labels(bins, value_format or _number_format(np.concatenate([y, bins])))
    else:
        labels = _range_labels(y, classes[~missing], bins, value_format or _number_format(y, bins))
    return Classification(
        scheme=scheme,
        bins=tuple(float(b) for b in bins),
        labels=tuple(labels),
        classes=classes,
        counts=tuple(int(c) for c in counts),
        n_missing=int(missing.sum()),
        k_requested=int(k),
        note=" ".join(notes),
    )


def _checked_values(values: Sequence[float] | np.ndarray | pd.Series, *, scheme: str, k: int) -> np.ndarray:
    """Check ``scheme``, ``k`` and the values; return them as floats, NaN where missing."""
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(_SCHEMES)}; got {scheme!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= 12:
        raise ValueError(f"k must be an integer from 2 to 12; got {k!r}")
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if series.size and (pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series)):
        try:
            series = pd.to_numeric(series, errors="raise")
        except (TypeError, ValueError):
            raise SchemaError(
                f"Values to classify must be numeric; got dtype {series.dtype} "
                f"(e.g. {quote_values(series.dropna().unique()[:3].tolist())})"
            ) from None
    arr: np.ndarray = series.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(arr)
    if infinite.any():
        raise ValueDomainError(
            f"Values to classify must be finite; {first_rows(np.flatnonzero(infinite) + 1)} hold infinity"
        )
    return arr


def _one_class_or_none(
    y: np.ndarray, missing: np.ndarray, *, scheme: str, k: int, value_format: str | None
) -> Classification:
    """The classification of values with fewer than two distinct values: no class, or one."""
    classes = np.full(missing.shape, -1, dtype=int)
    if y.size == 0:
        return Classification(scheme, (), (), classes, (), int(missing.sum()), int(k), "No values to classify.")
    classes[~missing] = 0
    only = float(y[0])
    text = _fmt(value_format or _number_format(y), only)
    return Classification(
        scheme, (only,), (text,), classes, (int(y.size),), int(missing.sum()), int(k),
        f"All values equal {text}: one class.",
    )  # fmt: skip


def _breaks(y: np.ndarray, *, scheme: str, k: int, n_unique: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Upper class bounds of ``y`` (at least two distinct values) and notes on how they differ from what was asked."""
    bins, notes = _remembered_bins(y, scheme=scheme, k=min(int(k), n_unique) if scheme != "box_plot" else 6, seed=seed)
    if scheme == "box_plot":
        return np.maximum.accumulate(bins), notes  # fences can coincide with quartiles; keep the order
    bins = np.unique(bins)
    bins[-1] = max(bins[-1], y.max())
    if bins.size < k:
        why = f"only {n_unique} distinct values" if n_unique < k else "ties in the data"
        if n_unique < k and bins.size < n_unique:
            why += " and ties"
        notes.insert(0, f"{bins.size} classes instead of {k}: {why}.")
    return bins, notes


def _breaks_key(y: np.ndarray, *, scheme: str, k: int, seed: int) -> str:
    from importlib.metadata import version

    libs = "|".join(version(p) for p in ("mapclassify", "scikit-learn"))
    h = hashlib.sha256(f"{BREAKS_VERSION}|{libs}|{scheme}|{k}|{seed}|{y.size}|".encode())
    h.update(np.ascontiguousarray(y, dtype=float).tobytes())
    return h.hexdigest()[:32]


def _digest(bins: list[float], notes: list[str]) -> str:
    return hashlib.sha256(json.dumps([bins, notes]).encode()).hexdigest()


def _read_bins(path: Path, key: str) -> tuple[np.ndarray, list[str]] | str:
    """The remembered breaks, or why they cannot be used."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        bins, notes = [float(b) for b in doc["bins"]], [str(n) for n in doc["notes"]]
        if doc["key"] != key or doc["digest"] != _digest(bins, notes) or not bins:
            return "its key or digest does not match its content"
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return f"it cannot be read ({type(exc).__name__})"
    return np.array(bins, dtype=float), notes


def _remembered_bins(y: np.ndarray, *, scheme: str, k: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """:func:`_scheme_bins`, remembered on disk (see the module's docstring); an unwritable cache is tolerated."""
    key = _breaks_key(y, scheme=scheme, k=k, seed=seed)
    path = get_settings().cache_dir / "classes" / f"{key}.json"
    if path.is_file():
        found = _read_bins(path, key)
        if not isinstance(found, str):
            return found
        note_rebuild(path, found)
    bins, notes = _scheme_bins(y, scheme=scheme, k=k, seed=seed)
    values = [float(b) for b in bins]
    try:
        with atomic_path(path, durable=False) as tmp:
            tmp.write_text(json.dumps({"key": key, "bins": values, "notes": notes, "digest": _digest(values, notes)}))
    except OSError:  # a read-only cache folder: the breaks are computed each time
        pass
    return bins, notes


def _scheme_bins(y: np.ndarray, *, scheme: str, k: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Raw bins from the scheme's algorithm; mapclassify's UserWarnings are held back (the notes cover them)."""
    import mapclassify  # not at import time (see _fisher_jenks_bins)

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if scheme == "quantiles":
            bins = np.asarray(mapclassify.Quantiles(y, k=k).bins, dtype=float)
        elif scheme == "equal_interval":
            bins = np.asarray(mapclassify.EqualInterval(y, k=k).bins, dtype=float)
        elif scheme == "fisher_jenks":
            bins, fj_note = _fisher_jenks_bins(y, k, seed)
            if fj_note:
                notes.append(fj_note)
        elif scheme == "natural_breaks":
            bins = _natural_breaks_bins(y, k, seed)
        else:
            bins = np.asarray(mapclassify.BoxPlot(y).bins, dtype=float)
    for w in caught:
        # mapclassify's UserWarnings ("Numba not installed", "Not enough unique values ...
        # Setting k to 3") are covered by the notes; anything else is passed on.
        if not issubclass(w.category, UserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return bins, notes


def _range_labels(y: np.ndarray, yb: np.ndarray, bins: np.ndarray, fmt: str) -> list[str]:
    """Label each class with the smallest and largest value in it (its bounds if empty)."""
    labels = []
    for i, hi_bound in enumerate(bins):
        inside = y[yb == i]
        if inside.size:
            lo, hi = float(inside.min()), float(inside.max())
        else:
            lo, hi = (float(bins[i - 1]) if i else float(y.min())), float(hi_bound)
        a, b = _fmt(fmt, lo), _fmt(fmt, hi)
        labels.append(a if a == b else f"{a} – {b}")
    return labels


def _box_plot_labels(bins: np.ndarray, fmt: str) -> list[str]:
    f = [_fmt(fmt, b) for b in bins]
    labels = [
        f"Low outlier (≤ {f[0]})",
        f"{f[0]} – {f[1]} (lower whisker)",
        f"{f[1]} – {f[2]} (25th–50th pct)",
        f"{f[2]} – {f[3]} (50th–75th pct)",
        f"{f[3]} – {f[4]} (upper whisker)",
    ]
    if bins.size == 6:
        labels.append(f"High outlier (> {f[4]})")
    return labels[: bins.size]


def ramp(cmap: str, n: int) -> list[str]:
    """Return ``n`` colours of the ramp ``cmap``, in the ramp's order (``_r`` reverses it).

    Parameters
    ----------
    cmap
        One of :data:`geo.maps.palettes.SEQUENTIAL_CMAPS`, optionally with ``_r``.
    n
        Number of colours; 1 and 2 are taken from the 3-colour ramp (its middle, its ends).

    Raises
    ------
    ValueError
        If ``cmap`` is not an accepted ramp.
    """
    base = cmap[:-2] if cmap.endswith("_r") else cmap
    if base not in SEQUENTIAL_CMAPS:
        raise ValueError(
            f"cmap must be one of {', '.join(sorted(SEQUENTIAL_CMAPS))} (optionally with _r); got {cmap!r}"
        )
    if n <= 0:
        return []
    if n >= 3:
        return list(branca.utilities.color_brewer(cmap, n))
    three = branca.utilities.color_brewer(cmap, 3)
    return [three[1]] if n == 1 else [three[0], three[2]]
