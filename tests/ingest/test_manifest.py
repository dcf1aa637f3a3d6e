"""Record counts of the manifest (describe_file): shapefiles counted from their index, equal to OGR's count."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.errors import FetchError
from geo.ingest.manifest import describe_file
from geo.settings import PROJECT_ROOT
from tests.helpers.imports import imported_by

SHARED = PROJECT_ROOT.parent / "shared" / "data"


@pytest.mark.parametrize("path", sorted(SHARED.rglob("*.shp")), ids=lambda p: p.name)
def test_a_real_shapefile_has_ogrs_feature_count(path: Path) -> None:
    assert describe_file(path) == (pyogrio.read_info(path)["features"], None)


def test_a_shapefile_is_counted_from_its_index_and_without_one_is_refused_by_name(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"n": range(7)}, geometry=shapely.points(range(7), range(7)), crs=2264)
    gdf.to_file(tmp_path / "p.shp")
    assert describe_file(tmp_path / "p.shp") == (7, None) == (pyogrio.read_info(tmp_path / "p.shp")["features"], None)
    (tmp_path / "p.shx").unlink()  # OGR cannot open it either: the same clear error as before
    with pytest.raises(FetchError, match=r"p\.shp: cannot read the shapefile"):
        describe_file(tmp_path / "p.shp")


def test_fetch_from_a_mirror_imports_neither_pandas_nor_geopandas() -> None:
    """`make data` is mostly this command: pandas and geopandas would cost it a second or two."""
    modules = ["geo.cli.data", "geo.ingest.fetch", "geo.ingest.manifest"]
    assert imported_by(modules, ["pandas", "geopandas", "pyogrio"]) == []
