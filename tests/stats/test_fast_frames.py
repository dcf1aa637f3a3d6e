"""add_columns and count_labels, made faster for issue 16, give what the former code gave.

The references are the former code, kept here: one ``out[name] = values`` per column on
``gdf.copy()``, and ``pandas.Series.value_counts``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.errors import SchemaError
from geo.stats.significance import add_columns, count_labels


def _former_add_columns(gdf, columns):
    out = gdf.copy()
    for name, values in columns.items():
        out[name] = values
    return out


def _frame(index=None, geometry="geometry") -> gpd.GeoDataFrame:
    pts = [Point(i, i % 3) for i in range(6)]
    data = pd.DataFrame({"name": list("abcdef"), "v": np.arange(6.0)}, index=index)
    data[geometry] = gpd.GeoSeries(pts, index=data.index, crs="EPSG:2264")
    g = gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:2264")
    g.attrs.update(source="test", caveat="synthetic")
    return g


def _columns(n: int) -> dict:
    labels = np.array(["High-High", "Not significant", "Low-Low", "Undefined", "High-High", "Isolated"], dtype=object)
    mixed = np.array(["x", None, "y", "z", None, "w"], dtype=object)
    return {
        "p_i": np.linspace(-1, 1, n),
        "p_q": np.arange(n, dtype=np.int64),
        "p_sig": np.arange(n) % 2 == 0,
        "p_cluster": labels[:n],
        "p_mixed": mixed[:n],
        "p_nan": np.array([np.nan, 1.0, 2.0, np.nan, 4.0, 5.0])[:n],
    }


@pytest.mark.parametrize(
    "frame",
    [
        _frame(),
        _frame(index=pd.Index(list("uvwxyz"), name="npa")),
        _frame(index=pd.RangeIndex(10, 16)),
        _frame(geometry="shape"),
        _frame(index=pd.Index([0, 1, 1, 2, 3, 4])),  # duplicate labels: the former path
    ],
)
def test_add_columns_equals_one_setitem_per_column(frame):
    cols = _columns(len(frame))
    got, want = add_columns(frame, cols), _former_add_columns(frame, cols)
    assert type(got) is type(want)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.dtypes) == list(want.dtypes)
    assert got.geometry.name == want.geometry.name and got.crs == want.crs
    assert got.attrs == want.attrs == frame.attrs
    got.attrs["source"] = "changed"
    assert frame.attrs["source"] == "test"  # attrs copied, not shared
    assert list(frame.columns) == ["name", "v", frame.geometry.name]  # the argument is not changed


def test_add_columns_with_a_series_aligns_like_setitem():
    frame = _frame(index=pd.Index(list("uvwxyz")))
    cols = {"s": pd.Series(np.arange(6.0), index=list("zyxwvu"))}
    pd.testing.assert_frame_equal(add_columns(frame, cols), _former_add_columns(frame, cols), check_exact=True)


def test_add_columns_on_an_empty_frame_and_the_refusal_to_overwrite():
    empty = _frame().iloc[:0]
    cols = {"p_i": np.array([]), "p_cluster": np.array([], dtype=object)}
    pd.testing.assert_frame_equal(add_columns(empty, cols), _former_add_columns(empty, cols), check_exact=True)
    with pytest.raises(SchemaError, match="'v' already present"):
        add_columns(_frame(), {"v": np.zeros(6)})


def test_count_labels_equals_value_counts():
    rng = np.random.default_rng(0)
    order = ("High-High", "Low-Low", "Low-High", "High-Low", "Not significant", "Isolated", "Undefined")
    labels = rng.choice(np.array([*order[:5], "Isolated", "other"], dtype=object), size=500)
    s = pd.Series(labels).value_counts()
    want = {lab: int(s.get(lab, 0)) for lab in order}
    assert count_labels(labels, order) == want
    assert count_labels(pd.Series(labels, dtype="str"), order) == want
    assert count_labels(np.array([], dtype=object), order) == dict.fromkeys(order, 0)
