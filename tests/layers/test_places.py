"""Place search: names matched however they are typed, and the NPAs of each place checked by an overlay."""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from geo.errors import CRSError, SchemaError
from geo.ingest.reference import LAYER_COLUMNS, ReferenceLayers, load_npa_groups, load_reference_layers
from geo.layers import build
from geo.layers.places import KINDS, PlaceIndex, build_place_index, normalize


@pytest.fixture(scope="module")
def real(settings):
    """The real NPAs, reference layers, groups and divisions, and the index built from them."""
    npa = build.npa(settings)
    layers, _ = load_reference_layers(settings=settings)
    groups, _ = load_npa_groups(settings=settings)
    divisions = build.divisions(settings)
    index = PlaceIndex.build(npa, layers, groups, divisions=divisions)
    return {"npa": npa, "layers": layers, "groups": groups, "divisions": divisions, "index": index}


def _top(index: PlaceIndex, query: str):
    matches = index.search(query)
    assert matches, f"nothing found for {query!r}"
    return matches[0]


# ----------------------------------------------------------------------- independent membership


def _overlay_npas(place: gpd.GeoDataFrame, npa: gpd.GeoDataFrame) -> set[int]:
    """NPAs with > 5 % of their area in the place, or holding >= 20 % of it, plus the largest overlap."""
    n = npa.assign(npa_area=npa.area)
    pieces = gpd.overlay(place[["geometry"]].assign(place_area=place.area), n, how="intersection")
    pieces["area"] = pieces.area
    keep = (pieces["area"] > 0.05 * pieces["npa_area"]) | (pieces["area"] >= 0.2 * pieces["place_area"])
    return set(pieces.loc[keep, "npa"]) | {int(pieces.sort_values("area").iloc[-1]["npa"])}


def _line_npas(lines: gpd.GeoDataFrame, npa: gpd.GeoDataFrame, min_ft: float = 300.0) -> set[int]:
    pieces = gpd.overlay(lines[["geometry"]], npa, how="intersection", keep_geom_type=True)
    per = pieces.assign(ft=pieces.length).groupby("npa")["ft"].sum()
    return set(per[per >= min_ft].index) | {int(per.idxmax())}


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Plaza Midwood", "Plaza-Midwood"),
        ("Dilworth", "Dilworth"),
        ("Fourth Ward", "4th Ward"),
        ("4th Ward", "4th Ward"),
        ("Hermitage Court", "Hermitage Court"),
        ("Wesley Heights", "Wesley Heights"),
        ("Wilmore", "Wilmore"),
    ],
)
def test_historic_districts_and_their_npas(real, query, name):
    best = _top(real["index"], query)
    assert (best.kind, best.name, best.how, best.score) == ("historic district", name, "exact", 1.0)
    hist = real["layers"].historic_districts
    expected = _overlay_npas(hist[hist["name"] == name], real["npa"])
    assert set(best.npa_ids) == expected
    # the NPA holding most of the district is among them (checked with a plain sjoin of a point inside it)
    inside = gpd.GeoDataFrame(geometry=hist[hist["name"] == name].representative_point(), crs=hist.crs)
    assert int(gpd.sjoin(inside, real["npa"], predicate="within")["npa"].iloc[0]) in best.npa_ids


def test_zip_code(real):
    best = _top(real["index"], "28205")
    assert (best.kind, best.name) == ("zip", "ZIP 28205")
    zips = real["layers"].zipcodes
    assert set(best.npa_ids) == _overlay_npas(zips[zips["zipcode"] == "28205"], real["npa"])
    assert len(best.npa_ids) > 10
    assert real["index"].search("ZIP 28205")[0].place == best.place
    assert real["index"].search("zip code 28205")[0].place == best.place


def test_road_and_street_suffixes(real):
    index = real["index"]
    best = _top(index, "Monroe Rd")
    assert (best.kind, best.name, best.how) == ("road", "Monroe Rd", "exact")
    assert _top(index, "Monroe Road").place == best.place
    assert _top(index, "MONROE RD.").place == best.place
    roads = real["layers"].roads
    assert set(best.npa_ids) == _line_npas(roads[roads["name"].str.lower() == "monroe rd"], real["npa"])
    tryon = _top(index, "South Tryon Street")
    assert (tryon.name, tryon.how) == ("S Tryon St", "exact") and _top(index, "S Tryon St").place == tryon.place
    # without its direction and type a road still matches, below an exact name
    names = {m.name: m for m in index.search("Tryon")}
    assert {"N Tryon St", "S Tryon St"} <= set(names) and names["S Tryon St"].score < 1.0


def test_school_from_the_schools_layer(real):
    marks = real["layers"].landmarks
    school = marks[marks["kind"] == "school"].iloc[0]
    best = _top(real["index"], school["name"])
    assert (best.kind, best.name) == ("school", school["name"])
    one = gpd.GeoDataFrame(geometry=[school.geometry], crs=marks.crs)
    assert best.npa_ids == (int(gpd.sjoin(one, real["npa"], predicate="within")["npa"].iloc[0]),)


def test_towns_and_districts_from_the_groups(real):
    index, groups = real["index"], real["groups"]

    def listed(gtype: str, group: str) -> set[int]:
        return set(groups.loc[(groups["group_type"] == gtype) & (groups["group"] == group), "npa"])

    hunt = _top(index, "Huntersville")
    assert (hunt.kind, hunt.name) == ("town", "Huntersville")  # ranked above its town hall
    assert set(hunt.npa_ids) == listed("jurisdiction", "Huntersville") and len(hunt.npa_ids) == 24
    for town in ("Cornelius", "Pineville", "Mint Hill", "Matthews", "Davidson", "Charlotte"):
        assert _top(index, town).kind == "town" and set(_top(index, town).npa_ids) == listed("jurisdiction", town)
    cd1 = _top(index, "council district 1")
    assert (cd1.kind, cd1.name) == ("council district", "Council district 1")
    assert set(cd1.npa_ids) == listed("city_council", "1") and len(cd1.npa_ids) == 51
    assert _top(index, "District 1").place == cd1.place
    assert _top(index, "County Commission district 3").kind == "county commission district"


def test_npa_numbers(real):
    for q in ("380", "NPA 380", "npa380", "neighborhood 380"):
        best = _top(real["index"], q)
        assert (best.kind, best.npa_ids, best.how) == ("npa", (380,), "exact")
    # a close number is not a close spelling
    assert all(m.name != "NPA 38" for m in real["index"].search("NPA 380"))


def test_divisions_when_given(real):
    best = _top(real["index"], "Central Division")
    assert best.kind == "division"
    div = real["divisions"]
    assert set(best.npa_ids) == _overlay_npas(div[div["division"] == "Central Division"], real["npa"])


# ----------------------------------------------------------------------- matching


def test_spelling_insensitive(real):
    index = real["index"]
    target = _top(index, "Plaza-Midwood").place
    for q in (
        "plaza midwood",
        "PLAZA  MIDWOOD",
        "PlazaMidwood",
        "  Plaza–Midwood! ",
        "Plaza Midwood Historic District",
    ):
        assert _top(index, q).place == target, q


def test_normalize():
    assert normalize("S Tryon St") == normalize("South Tryon Street") == ("south", "tryon", "street")
    assert normalize("Fourth Ward") == normalize("4th Ward")
    assert normalize("Clark's Creek") == ("clarks", "creek")
    assert normalize("I-77") == normalize("I77") == ("interstate", "77")
    assert normalize("Café") == ("cafe",)
    assert normalize("?!") == ()


def test_ranking_exact_prefix_fuzzy(real):
    index = real["index"]
    exact = index.search("Dilworth")
    assert exact[0].how == "exact" and all(m.score < exact[0].score for m in exact[1:])
    prefix = index.search("Dilwort")
    assert prefix[0].name == "Dilworth" and prefix[0].how == "prefix" and prefix[0].score < 1.0
    fuzzy = index.search("Dilwroth")
    assert fuzzy[0].name == "Dilworth" and fuzzy[0].how == "fuzzy" and fuzzy[0].score <= 0.5
    scores = [m.score for m in index.search("Wilmore", limit=20)]
    assert scores == sorted(scores, reverse=True)
    assert len(index.search("park", limit=5)) == 5
    assert {m.kind for m in index.search("Huntersville", kinds=["town hall"])} == {"town hall"}


@pytest.mark.parametrize("query", ["", "   ", "qwxzvkj", ".*", "(", "[", "^$", "\\", "*", "?", "|", "{{ }}"])
def test_unknown_or_regex_text_finds_nothing(real, query):
    assert real["index"].search(query) == []


def test_text_is_not_a_regex(real):
    index = real["index"]
    # a regex would read "." as any character: here it is a space between words, never an exact "Plaza"
    assert all(m.how != "exact" for m in index.search("Pl.za Midwood"))
    assert all(m.how != "exact" for m in index.search("Dilwort."))  # "." would match the "h"
    assert index.search("Plaza.Midwood")[0].name == "Plaza-Midwood"
    with pytest.raises(TypeError):
        index.search(None)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- what an NPA overlaps


def test_places_for_is_the_inverse_of_npa_ids(real):
    index = real["index"]
    frame = index.to_frame()
    assert set(frame["kind"]) <= set(KINDS)
    for n in (3, 378, 380, 452):
        places = index.places_for(n)
        assert places and all(n in p.npa_ids and p.kind != "npa" for p in places)
        expected = {k for k, ids, kind in zip(frame["key"], frame["npa_ids"], frame["kind"], strict=True)
                    if n in ids and kind != "npa"}  # fmt: skip
        assert {p.key for p in places} == expected
    kinds = [p.kind for p in index.places_for(378)]
    assert kinds == sorted(kinds, key=KINDS.index)
    names = {p.name for p in index.places_for(378)}
    assert {"Plaza-Midwood", "ZIP 28205", "Charlotte"} <= names
    text = index.overlap_text(378)
    assert text.startswith("NPA 378 overlaps ") and "Plaza-Midwood" in text and "ZIP 28205" in text
    assert index.places_for(378, kinds=["zip"]) == [p for p in index.places_for(378) if p.kind == "zip"]
    assert index.overlap_text(99999) == "NPA 99999 overlaps no named place in the reference layers."


def test_index_pickles_and_has_bounds(real):
    index = real["index"]
    again = pickle.loads(pickle.dumps(index))
    assert again.search("28205")[0].place == index.search("28205")[0].place
    b = index["zip:28205"].bounds
    assert b is not None and -81.1 < b[0] < b[2] < -80.5 and 34.9 < b[1] < b[3] < 35.6
    assert len(index) == len(index.to_frame())


def test_build_place_index_from_settings(settings, real):
    index = build_place_index(settings)
    assert len(index) == len(real["index"]) and index.search("Wilmore")[0].npa_ids == (388,)


# ----------------------------------------------------------------------- hand-made geometry


def _empty_layers(crs: str = "EPSG:2264", **frames: gpd.GeoDataFrame) -> ReferenceLayers:
    blank = {k: gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs) for k, cols in LAYER_COLUMNS.items()}
    return ReferenceLayers(**{**blank, **frames})


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    """Four 1,000 ft NPAs: 1 | 2 on the bottom row, 3 | 4 on top."""
    x0, y0, s = 1_440_000.0, 540_000.0, 1_000.0
    cells = [box(x0, y0, x0 + s, y0 + s), box(x0 + s, y0, x0 + 2 * s, y0 + s),
             box(x0, y0 + s, x0 + s, y0 + 2 * s), box(x0 + s, y0 + s, x0 + 2 * s, y0 + 2 * s)]  # fmt: skip
    return gpd.GeoDataFrame({"npa": [1, 2, 3, 4]}, geometry=cells, crs="EPSG:2264")


def test_hand_made_membership(grid):
    x0, y0 = 1_440_000.0, 540_000.0
    crs = "EPSG:2264"
    zips = gpd.GeoDataFrame(
        {"row": [1, 2], "zipcode": ["11111", "22222"], "post_office_city": ["A", "B"]},
        geometry=[box(x0, y0, x0 + 1_030, y0 + 1_000), box(x0, y0 + 1_000, x0 + 1_100, y0 + 2_000)],
        crs=crs,
    )
    hist = gpd.GeoDataFrame({"row": [1], "name": ["Tiny"], "designation": ["Local"]},
                            geometry=[box(x0 + 1_400, y0 + 400, x0 + 1_500, y0 + 500)], crs=crs)  # fmt: skip
    marks = gpd.GeoDataFrame(
        {"row": [1, 2, 3], "kind": ["park", "school", "library"], "name": ["In Four", "On Border", "Outside"],
         "category": ["", "", ""], "address": ["", "", ""]},
        geometry=[Point(x0 + 1_500, y0 + 1_500), Point(x0 + 1_000, y0 + 500), Point(x0 - 500, y0 - 500)],
        crs=crs,
    )  # fmt: skip
    roads = gpd.GeoDataFrame(
        {"row": [1, 2, 3], "objectid": [1, 2, 3], "name": ["Main St", "Main St", "Cross Rd"],
         "street_type": ["ST", "ST", "RD"], "road_class": ["road", "road", "road"]},
        geometry=[LineString([(x0 + 100, y0 + 500), (x0 + 1_000, y0 + 500)]),
                  LineString([(x0 + 1_000, y0 + 500), (x0 + 1_100, y0 + 500)]),
                  LineString([(x0 + 600, y0 + 1_500), (x0 + 1_400, y0 + 1_500)])],
        crs=crs,
    )  # fmt: skip
    groups = pd.DataFrame({"npa": [1, 2, 9], "group_type": ["jurisdiction"] * 3, "group": ["Smalltown"] * 3})
    layers = _empty_layers(zipcodes=zips, historic_districts=hist, landmarks=marks, roads=roads)
    index = PlaceIndex.build(grid, layers, groups)
    ids = {p.key: p.npa_ids for p in index.places}
    assert ids["zip:11111"] == (1,)  # 3 % of NPA 2 is not enough
    assert ids["zip:22222"] == (3, 4)  # 10 % of NPA 4 is
    assert ids["historic district:Tiny"] == (2,)  # 1 % of NPA 2, but all of the district
    assert ids["park:1:In Four"] == (4,)
    assert ids["school:2:On Border"] == (1,)  # on the shared border: the smallest id
    assert ids["library:3:Outside"] == ()
    assert ids["road:main street"] == (1,)  # 900 ft in NPA 1, 100 ft in NPA 2
    assert ids["road:cross road"] == (3, 4)
    assert ids["town:Smalltown"] == (1, 2)  # NPA 9 is not in the layer
    assert index.search("Main Street")[0].name == "Main St"
    assert [p.name for p in index.places_for(1)] == ["ZIP 11111", "Smalltown", "Main St", "On Border"]
    assert index.overlap_text(4) == "NPA 4 overlaps ZIP 22222; road Cross Rd; park In Four."


def test_build_refuses_bad_npa_layers(grid):
    with pytest.raises(SchemaError, match="'npa' column"):
        PlaceIndex.build(grid.rename(columns={"npa": "id"}))
    with pytest.raises(CRSError, match="projected"):
        PlaceIndex.build(grid.to_crs(4326))
    only = PlaceIndex.build(grid)
    assert len(only) == 4 and only.search("2")[0].npa_ids == (2,)


def test_council_from_2013_lines_without_groups(grid):
    x0, y0 = 1_440_000.0, 540_000.0
    council = gpd.GeoDataFrame({"row": [1], "district": [5], "name": ["Council district 5"]},
                               geometry=[box(x0, y0, x0 + 2_000, y0 + 1_000)], crs="EPSG:2264")  # fmt: skip
    index = PlaceIndex.build(grid, _empty_layers(council_districts=council), None)
    best = index.search("council district 5")[0]
    assert best.npa_ids == (1, 2) and "2013" in best.place.detail
    assert np.isfinite(best.place.bounds).all()
