"""Colour-blind safety of the map palettes, checked with a simulator.

Each categorical palette is drawn as the map draws it (at its fill opacity over the white
background), then seen through the three dichromacies simulated with the severity-1.0 matrices
of Machado, Oliveira and Fernandes (2009, IEEE TVCG 15(6)), applied in linear RGB. Neighbouring
legend classes must stay at least :data:`MIN_DELTA_E` CIEDE2000 units apart for normal vision
and for each simulation.

Why 8: one just-noticeable difference is about 2.3 units for two patches side by side (Mahy
et al. 1994; Sharma et al. 2005 for the CIEDE2000 formula); on a map two classes seldom touch
and are matched against a small swatch in the legend, so we ask for three to four of them.
ColorBrewer's own 5-class ramps at full opacity sit at 9-15 units between neighbours for
normal vision. The sequential ramps of the choropleths cannot keep 8 units at 9 classes (no
ramp can); they are read by lightness, which the last test checks stays in order.
"""

from __future__ import annotations

import numpy as np
import pytest

from geo.analysis.robustness import ROBUSTNESS_CLASSES
from geo.maps import palettes
from geo.maps.classify import ramp
from geo.stats.emerging import EHSA_CATEGORIES
from geo.stats.getisord import GI_LABELS
from geo.stats.moran import LISA_LABELS

MIN_DELTA_E = 8.0

#: Machado et al. (2009), severity 1.0, for linear RGB.
MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
VISIONS = [None, *MACHADO]

#: palette name -> (palette, the fill opacity its maps use, the class labels it must cover)
CATEGORICAL = {
    "LISA": (palettes.LISA_COLORS, 0.8, LISA_LABELS),
    "Gi*": (palettes.GI_COLORS, 0.8, GI_LABELS),
    "significance": (palettes.SIGNIFICANCE_COLORS, 0.8, None),
    "emerging": (palettes.EHSA_COLORS, 0.8, EHSA_CATEGORIES),
    "robustness": (palettes.ROBUSTNESS_COLORS, 0.8, ROBUSTNESS_CLASSES),
    "emerging status (chart)": (palettes.EMERGING_STATUS_COLORS, 1.0, None),
    "DA review (use of force)": (palettes.DA_REVIEW_COLORS, 0.8, None),
}


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)])


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _gamma(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.abs(c) ** (1 / 2.4) - 0.055)


def seen(hex_color: str, vision: str | None, *, opacity: float = 1.0) -> np.ndarray:
    """SRGB (0..1) of a fill at ``opacity`` over white (as the browser blends it), as seen with ``vision``."""
    c = opacity * _rgb(hex_color) + (1 - opacity)
    if vision is None:
        return c
    return _gamma(np.clip(np.array(MACHADO[vision]) @ _linear(c), 0, 1))


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB colour."""
    m = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    )
    xyz = m @ _linear(rgb) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _hue(b: float, a: float) -> float:
    return float(np.degrees(np.arctan2(b, a)) % 360) if (a or b) else 0.0


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005), written from the paper's equations."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = _hue(b1, a1p), _hue(b2, a2p)
    dhp = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    dlp, dcp = l2 - l1, c2p - c1p
    dhp_big = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp / 2))
    l_bar, c_bar_p = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(c_bar_p**7 / (c_bar_p**7 + 25**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_bar_p, 1 + 0.015 * c_bar_p * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return float(
        np.sqrt((dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dhp_big / s_h) ** 2 + r_t * (dcp / s_c) * (dhp_big / s_h))
    )


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # pairs 1, 7, 17 and 25 of Sharma et al.'s published test data
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, 0, 0), (50, -1, 2), 2.3669),
        ((50, 2.5, 0), (73, 25, -18), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ],
)
def test_delta_e2000_matches_the_published_test_data(lab1, lab2, expected):
    assert delta_e2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)


def test_the_simulation_collapses_red_and_green_and_keeps_grey():
    red, green = "#d7191c", "#1a9641"  # a red-green pair that no map here uses
    normal = delta_e2000(lab(seen(red, None)), lab(seen(green, None)))
    deutan = delta_e2000(lab(seen(red, "deuteranopia")), lab(seen(green, "deuteranopia")))
    assert normal > 50 and deutan < normal / 3
    for vision in MACHADO:  # every row of a matrix sums to 1: greys stay grey
        np.testing.assert_allclose(seen("#808080", vision), seen("#808080", None), atol=2e-3)


@pytest.mark.parametrize("name", list(CATEGORICAL))
@pytest.mark.parametrize("vision", VISIONS, ids=lambda v: v or "normal")
def test_neighbouring_legend_classes_stay_apart(name, vision):
    colors, opacity, labels = CATEGORICAL[name]
    if labels is not None:
        assert set(colors) == set(labels)  # a colour for every class the statistic gives
    drawn = [lab(seen(c, vision, opacity=opacity)) for c in colors.values()]
    keys = list(colors)
    gaps = {(keys[i], keys[i + 1]): delta_e2000(drawn[i], drawn[i + 1]) for i in range(len(keys) - 1)}
    close = {pair: round(d, 1) for pair, d in gaps.items() if d < MIN_DELTA_E}
    assert not close, f"{name} with {vision or 'normal vision'}: {close}"


@pytest.mark.parametrize("vision", VISIONS, ids=lambda v: v or "normal")
def test_every_pair_of_lisa_classes_stays_apart(vision):
    # few classes, none ordered: a High-High must not be taken for a Low-High anywhere on the map
    drawn = {k: lab(seen(c, vision, opacity=0.8)) for k, c in palettes.LISA_COLORS.items()}
    keys = list(drawn)
    worst = min(delta_e2000(drawn[a], drawn[b]) for i, a in enumerate(keys) for b in keys[i + 1 :])
    assert worst >= MIN_DELTA_E


@pytest.mark.parametrize("cmap", palettes.CHOROPLETH_CMAPS)
@pytest.mark.parametrize("vision", VISIONS, ids=lambda v: v or "normal")
def test_choropleth_ramps_stay_in_lightness_order(cmap, vision):
    for k in (3, 5, 7, 9):
        lightness = [lab(seen(c, vision, opacity=0.75))[0] for c in ramp(cmap, k)]
        steps = np.diff(lightness)
        assert (steps < 0).all() or (steps > 0).all(), (cmap, k, np.round(lightness, 1))
