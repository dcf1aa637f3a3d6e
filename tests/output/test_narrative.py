"""Plain-language explanations: every emerging hot spot category has its rule."""

from __future__ import annotations

import types

import pandas as pd
import pytest

from geo.output import narrative
from geo.output.narrative import EHSA_RULES, explain_emerging
from geo.stats.emerging import EHSA_CATEGORIES


def test_every_emerging_category_has_a_rule():
    assert set(EHSA_CATEGORIES) | {"Isolated"} <= set(EHSA_RULES)
    assert EHSA_RULES["Isolated"] == "not tested: it has no neighbours under these weights"


@pytest.mark.parametrize(
    ("category", "words"),
    [
        ("Isolated", "Isolated: not tested: it has no neighbours under these weights."),
        ("Undefined", "Undefined: a value is missing in at least one year"),
    ],
)
def test_untested_units_are_explained_without_their_series(monkeypatch, category, words):
    # a hand-made ehsa run: unit "b" has no neighbours (or a gap), so it has no yearly Gi* results to describe
    frame = pd.DataFrame(
        {"ehsa_category": ["New Hot Spot", category], "ehsa_trend_tau": [0.5, float("nan")],
         "ehsa_trend_p": [0.01, float("nan")]},
        index=["a", "b"],
    )  # fmt: skip
    run = types.SimpleNamespace(frame=frame, method="ehsa")
    monkeypatch.setattr(narrative, "emerging_result", lambda r: types.SimpleNamespace(alpha=0.05, trend_alpha=0.05))

    def no_series(r, unit):
        raise AssertionError(f"the series of {unit!r} is not needed")

    monkeypatch.setattr(narrative, "emerging_series", no_series)
    text = explain_emerging(run, "b")
    assert text.startswith(words)
    assert "nan" not in text and "tau" not in text
