r"""How well one period's hot spots would have targeted the next period's incidents.

For a set of flagged cells (the hot spots of year ``t``) and the incidents of
year ``t + 1``, with ``n`` incidents in the flagged cells out of ``N``, flagged area
``a`` out of the study area ``A``:

* **Predictive accuracy index** (Chainey, Tompson and Uhlig 2008):
  ``PAI = (n / N) / (a / A)`` -- the hit rate per share of the area; 1 is what
  flagging cells at random would give on average, 3 means three times that.
* **Predictive efficiency index** (Hunt 2016): ``PEI = PAI / PAI*``, where
  ``PAI*`` is the best PAI any choice of the same number of cells could have had:
  the cells with the most incidents of ``t + 1``. For cells of equal area (a
  hexagon grid) this is ``n / n*`` with ``n*`` the incidents of ``t + 1`` in the top
  ``k`` cells, ``k`` the number flagged; 1 is a perfect choice. (With unequal areas
  this module still uses the top ``k`` cells, a standard grid simplification.)
* **Recapture rate index** (Levine 2008): ``RRI = (n_{t+1} / n_t) / (N_{t+1} / N_t)``
  -- how the flagged cells' incidents changed relative to the whole area's; near 1
  means the hot spots kept their share, above 1 that they grew more than the rest.

Undefined values (no flagged cell, no incident in the flagged cells at ``t``, no
incident at ``t + 1``) are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.errors import ValueDomainError

__all__ = ["Accuracy", "prediction_accuracy", "top_k_cells"]


@dataclass(frozen=True)
class Accuracy:
    """PAI, PEI and RRI of one set of flagged cells.

    Attributes
    ----------
    flagged
        Number of flagged cells ``k``.
    area_share
        ``a / A``.
    hit_rate
        ``n / N``: share of the next period's incidents in the flagged cells.
    pai, pei, rri
        The three indices (NaN where undefined).
    captured, total
        ``n`` and ``N`` (next period).
    captured_now, total_now
        ``n_t`` and ``N_t`` (the period the hot spots came from).
    best
        ``n*``: incidents of the next period in its own top ``k`` cells.
    """

    flagged: int
    area_share: float
    hit_rate: float
    pai: float
    pei: float
    rri: float
    captured: int
    total: int
    captured_now: int
    total_now: int
    best: int


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def prediction_accuracy(
    flagged: np.ndarray,
    now: np.ndarray,
    following: np.ndarray,
    *,
    area: np.ndarray | None = None,
) -> Accuracy:
    """PAI, PEI and RRI of ``flagged`` cells (formulas in the module docstring).

    Parameters
    ----------
    flagged
        ``(n_cells,)`` booleans: the hot spots chosen from period ``t``.
    now, following
        ``(n_cells,)`` incident counts of periods ``t`` and ``t + 1``.
    area
        ``(n_cells,)`` cell areas (default equal areas).

    Raises
    ------
    ValueDomainError
        Arrays of different lengths, negative counts or areas.
    """
    flag = np.asarray(flagged, dtype=bool)
    x0 = np.asarray(now, dtype=float)
    x1 = np.asarray(following, dtype=float)
    a = np.ones(flag.size) if area is None else np.asarray(area, dtype=float)
    if not (flag.shape == x0.shape == x1.shape == a.shape) or flag.ndim != 1:
        raise ValueDomainError(
            f"flagged, now, following and area must be 1-d of one length; got {flag.shape}, {x0.shape}, "
            f"{x1.shape}, {a.shape}"
        )
    if (x0 < 0).any() or (x1 < 0).any() or (a < 0).any() or not np.isfinite(np.r_[x0, x1, a]).all():
        raise ValueDomainError("counts and areas must be finite and non-negative")
    k = int(flag.sum())
    n, n_total = float(x1[flag].sum()), float(x1.sum())
    n0, n0_total = float(x0[flag].sum()), float(x0.sum())
    area_share = _ratio(float(a[flag].sum()), float(a.sum()))
    hit = _ratio(n, n_total)
    best = float(np.sort(x1)[::-1][:k].sum()) if k else 0.0
    pai = _ratio(hit, area_share) if k else float("nan")
    pei = _ratio(n, best) if k else float("nan")
    rri = _ratio(_ratio(n, n0), _ratio(n_total, n0_total)) if n0 > 0 else float("nan")
    return Accuracy(
        flagged=k,
        area_share=area_share,
        hit_rate=hit,
        pai=pai,
        pei=pei,
        rri=rri,
        captured=int(n),
        total=int(n_total),
        captured_now=int(n0),
        total_now=int(n0_total),
        best=int(best),
    )


def top_k_cells(counts: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` cells with the highest counts (ties broken by cell order).

    Raises
    ------
    ValueDomainError
        ``k`` negative or above the number of cells.
    """
    x = np.asarray(counts, dtype=float)
    if isinstance(k, bool) or not 0 <= int(k) <= x.size:
        raise ValueDomainError(f"k must be between 0 and {x.size} cells; got {k!r}")
    order = np.argsort(-x, kind="stable")
    out = np.zeros(x.size, dtype=bool)
    out[order[: int(k)]] = True
    return out
