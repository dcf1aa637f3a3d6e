"""Find a place by name, and the NPAs it covers; and the named places an NPA overlaps.

:meth:`PlaceIndex.build` gathers the named places (NPAs, ZIP codes, towns, council and county commission
districts, divisions, historic districts, landmarks, main roads, greenways) and the NPAs each covers;
:meth:`PlaceIndex.search` answers in milliseconds. Build once and cache (plain Python data; it pickles).
Which NPAs a place covers:

- a polygon (ZIP, district, division, historic district): every NPA that has more than ``min_share``
  (5 %) of its own area inside the place, or that holds at least 20 % of the place, and always the NPA
  holding the largest part of it;
- a point (landmark): the NPA that contains it (on a shared boundary, the smallest id);
- a line (road, greenway): every NPA it runs through for at least ``min_line_ft`` (300 ft), and always
  the NPA holding its longest stretch;
- a town or district listed in the NPA groups file: the NPAs listed there (the Quality of Life
  Explorer's own lists, newer than the 2013 council lines, which are used only without that file).

Names are compared by :func:`normalize` (case, accents, punctuation, spacing, street-type and direction
abbreviations, ordinals in words do not matter); the text is never used as a regular expression. Exact
matches rank first, then prefixes, then names containing every word, then close spellings (:mod:`difflib`).
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import CRSError, DataFileError, SchemaError
from geo.ingest.reference import LANDMARK_KINDS, ReferenceLayers, load_npa_groups, load_reference_layers
from geo.layers import build
from geo.layers._place_names import group_place, line_spellings, normalize, numbers, polygon_place
from geo.settings import Settings, get_settings

__all__ = ["KINDS", "Place", "PlaceMatch", "PlaceIndex", "normalize", "build_place_index"]


#: Every kind of place, in the order results of equal score are listed.
KINDS: tuple[str, ...] = (
    "npa",
    "zip",
    "town",
    "council district",
    "historic district",
    "division",
    "county commission district",
    "road",
    "greenway",
    *LANDMARK_KINDS.values(),
)

_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Place:
    """A named place and the NPAs it covers.

    Attributes
    ----------
    key, kind, name
        Stable identifier (``"zip:28205"``, ``"npa:380"``, ``"road:monroe road"``); one of :data:`KINDS`;
        the name to show (``"ZIP 28205"``, ``"Plaza-Midwood"``, ``"Monroe Rd"``).
    npa_ids
        The NPAs it covers (see the module docstring), sorted; empty for a point outside every NPA.
    detail
        A few words on what it is (``"historic district (2013)"``).
    bounds
        ``(min lon, min lat, max lon, max lat)`` in EPSG:4326, to zoom a map to it.
    """

    key: str
    kind: str
    name: str
    npa_ids: tuple[int, ...]
    detail: str = ""
    bounds: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class PlaceMatch:
    """One search result: a :class:`Place`, how well it matched, and the name it matched by.

    Attributes
    ----------
    place
        The place.
    score
        1.0 for an exact match of the place's own name; below for other spellings of it
        (0.9-0.95, e.g. a road without its direction or street type), prefixes (0.7-0.9), names
        containing every word (0.55-0.75) and close spellings (at most 0.5).
    how
        ``exact``, ``prefix``, ``words`` or ``fuzzy``.
    matched
        The name (or other spelling) that matched.
    """

    place: Place
    score: float
    how: Literal["exact", "prefix", "words", "fuzzy"]
    matched: str

    @property
    def kind(self) -> str:
        """The place's kind."""
        return self.place.kind

    @property
    def name(self) -> str:
        """The place's name."""
        return self.place.name

    @property
    def npa_ids(self) -> tuple[int, ...]:
        """The NPAs the place covers."""
        return self.place.npa_ids


@dataclass(frozen=True)
class _Alias:
    """One spelling of a place: its words, their concatenation, and the share of the score it gives."""

    place: int
    text: str
    words: tuple[str, ...]
    compact: str
    weight: float
    numbers: frozenset[str]


_SCORE_PREFIX, _SCORE_WORDS, _SCORE_FUZZY, _FUZZY_CUTOFF = 0.7, 0.55, 0.5, 0.8


class PlaceIndex:
    """Named places, the NPAs each covers, and a search over their names.

    Build it with :meth:`build` (or :func:`build_place_index`); it holds plain Python data, so it
    can be cached and pickled.
    """

    def __init__(self, places: Sequence[Place], aliases: Sequence[Sequence[tuple[str, float]]]) -> None:
        if len(places) != len(aliases):
            raise ValueError(f"{len(places)} places but {len(aliases)} alias lists")
        self.places: tuple[Place, ...] = tuple(places)
        self._aliases: list[_Alias] = []
        self._by_compact: dict[str, list[int]] = defaultdict(list)
        for i, spellings in enumerate(aliases):
            for text, weight in spellings:
                words = normalize(text)
                if words:
                    self._by_compact["".join(words)].append(len(self._aliases))
                    self._aliases.append(_Alias(i, text, words, "".join(words), weight, numbers(words)))
        self._by_npa: dict[int, list[int]] = defaultdict(list)
        for i, p in enumerate(self.places):
            for n in p.npa_ids:
                self._by_npa[n].append(i)
        self._by_key = {p.key: p for p in self.places}

    @classmethod
    def build(
        cls,
        npa: gpd.GeoDataFrame,
        layers: ReferenceLayers | None = None,
        groups: pd.DataFrame | None = None,
        *,
        divisions: gpd.GeoDataFrame | None = None,
        min_share: float = 0.05,
        min_line_ft: float = 300.0,
    ) -> PlaceIndex:
        """Gather the named places and the NPAs each covers.

        Parameters
        ----------
        npa
            The NPA polygons with an ``npa`` column (:func:`geo.ingest.boundaries.load_npa`), in a
            projected CRS in feet (EPSG:2264); the other layers are reprojected to it.
        layers
            The reference layers (:func:`geo.ingest.reference.load_reference_layers`); None for none.
        groups
            The NPA groups (:func:`geo.ingest.reference.load_npa_groups`): towns, council and county
            commission districts. Without it, council districts come from the 2013 polygons and
            there are no towns.
        divisions
            CMPD division polygons with ``division`` and ``short_name`` columns (optional).
        min_share
            An NPA is covered by a polygon holding more than this share of the NPA's area.
        min_line_ft
            An NPA is crossed by a road or greenway that runs this many feet through it.

        A layer without an ``npa`` column raises :class:`SchemaError`; one without a projected CRS,
        :class:`CRSError`.
        """
        if "npa" not in npa.columns:
            raise SchemaError(f"PlaceIndex.build: the NPA layer needs an 'npa' column; found {list(npa.columns)}")
        if npa.crs is None or not npa.crs.is_projected:
            raise CRSError("PlaceIndex.build: the NPA layer needs a projected CRS (EPSG:2264, feet).")
        builder = _Builder(npa.reset_index(drop=True), min_share=min_share, min_line_ft=min_line_ft)
        builder.add_npas()
        builder.add_groups(groups, None if layers is None else layers.council_districts)
        if layers is not None:
            builder.add_polygons(layers.zipcodes, "zip")
            builder.add_polygons(layers.historic_districts, "historic district")
            builder.add_points(layers.landmarks)
            builder.add_lines(layers.roads, "road")
            builder.add_lines(layers.greenways, "greenway")
        if divisions is not None:
            builder.add_polygons(divisions, "division")
        return cls(builder.places, builder.aliases)

    def __len__(self) -> int:
        return len(self.places)

    def __getitem__(self, key: str) -> Place:
        """The place with this :attr:`Place.key` (``index["zip:28205"]``)."""
        return self._by_key[key]

    def search(self, query: str, *, limit: int = 10, kinds: Iterable[str] | None = None) -> list[PlaceMatch]:
        """Places whose name matches ``query``, best first.

        Parameters
        ----------
        query
            Any text: a name, a ZIP code, ``"council district 1"``, ``"NPA 380"``, ``"380"``. Never
            read as a regular expression; text that matches nothing gives an empty list.
        limit
            At most this many results.
        kinds
            Only places of these kinds (see :data:`KINDS`).

        Returns
        -------
        list of PlaceMatch
            One per place, by score, then kind (:data:`KINDS` order), then name.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        words = normalize(query)
        if not words or limit < 1:
            return []
        wanted = None if kinds is None else set(kinds)
        compact = "".join(words)
        best: dict[int, tuple[float, str, str]] = {}

        def offer(alias: _Alias, score: float, how: str) -> None:
            if wanted is not None and self.places[alias.place].kind not in wanted:
                return
            if alias.place not in best or score > best[alias.place][0]:
                best[alias.place] = (score, how, alias.text)

        for j in self._by_compact.get(compact, []):
            offer(self._aliases[j], self._aliases[j].weight, "exact")
        fuzzy = len(compact) >= 4 and any(c.isalpha() for c in compact)
        digits = numbers(words)
        matcher = difflib.SequenceMatcher(a=compact, autojunk=False) if fuzzy else None
        for a in self._aliases:
            if a.compact == compact:
                continue
            score = _partial_score(words, compact, a)
            if score is not None:
                offer(a, score[0], score[1])
            elif matcher is not None and a.numbers == digits and (ratio := _close(matcher, len(compact), a.compact)):
                offer(a, _SCORE_FUZZY * ratio * a.weight, "fuzzy")
        ranked = sorted(
            best.items(),
            key=lambda kv: (-kv[1][0], _RANK.get(self.places[kv[0]].kind, len(_RANK)), self.places[kv[0]].name),
        )
        return [
            PlaceMatch(self.places[i], round(score, 4), how, matched)  # type: ignore[arg-type]
            for i, (score, how, matched) in ranked[:limit]
        ]

    def places_for(self, npa_id: int, *, kinds: Iterable[str] | None = None) -> list[Place]:
        """The named places an NPA overlaps (itself excluded), by kind (:data:`KINDS` order), then name.

        ZIP codes, districts, towns, divisions and historic districts covering it, landmarks inside
        it, roads and greenways running through it (the same rules as :meth:`search`'s ``npa_ids``).
        """
        wanted = None if kinds is None else set(kinds)
        out = [
            self.places[i]
            for i in self._by_npa.get(int(npa_id), [])
            if self.places[i].kind != "npa" and (wanted is None or self.places[i].kind in wanted)
        ]
        return sorted(out, key=lambda p: (_RANK.get(p.kind, len(_RANK)), p.name))

    def overlap_text(self, npa_id: int, *, max_names: int = 4) -> str:
        """One plain-text sentence for an NPA's card: "NPA 380 overlaps ZIP 28205; ..." (not escaped).

        Lists at most ``max_names`` names per kind ("and 3 more"); an NPA that overlaps no named
        place gets "NPA 12 overlaps no named place in the reference layers."
        """
        by_kind: dict[str, list[str]] = defaultdict(list)
        for p in self.places_for(npa_id):
            by_kind[p.kind].append(p.name)
        if not by_kind:
            return f"NPA {int(npa_id)} overlaps no named place in the reference layers."
        parts = []
        for kind, names in by_kind.items():
            shown = ", ".join(names[:max_names]) + (
                f" and {len(names) - max_names} more" if len(names) > max_names else ""
            )
            label = _PLURAL.get(kind, kind + "s") if len(names) > 1 else kind
            parts.append(shown if kind in _SELF_NAMED else f"{label} {shown}")
        return f"NPA {int(npa_id)} overlaps " + "; ".join(parts) + "."

    def to_dict(self) -> dict[str, list[Any]]:
        """The index as plain JSON-ready lists: ``places`` (one list of fields each) and ``aliases``.

        :meth:`from_dict` rebuilds an equal index from it (names are normalised again there, so a
        stored index follows any change to :func:`normalize`).
        """
        spellings: list[list[list[Any]]] = [[] for _ in self.places]
        for a in self._aliases:
            spellings[a.place].append([a.text, a.weight])
        rows = [
            [p.key, p.kind, p.name, list(p.npa_ids), p.detail, None if p.bounds is None else list(p.bounds)]
            for p in self.places
        ]
        return {"places": rows, "aliases": spellings}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlaceIndex:
        """The index that :meth:`to_dict` wrote; malformed data raises ``ValueError``, ``TypeError`` or ``KeyError``."""
        places = [
            Place(
                str(key),
                str(kind),
                str(name),
                tuple(int(n) for n in ids),
                str(detail),
                None if bounds is None else _four(bounds),
            )
            for key, kind, name, ids, detail, bounds in data["places"]
        ]
        aliases = [[(str(text), float(weight)) for text, weight in spell] for spell in data["aliases"]]
        return cls(places, aliases)

    def to_frame(self) -> pd.DataFrame:
        """Every place as a row: ``key``, ``kind``, ``name``, ``detail``, ``npa_ids`` (tuple), ``n_npa``."""
        rows = [(p.key, p.kind, p.name, p.detail, p.npa_ids, len(p.npa_ids)) for p in self.places]
        return pd.DataFrame(rows, columns=["key", "kind", "name", "detail", "npa_ids", "n_npa"])


#: Kinds whose names already say what they are ("ZIP 28205", "Council district 1", "Charlotte").
_SELF_NAMED = {"zip", "town", "council district", "county commission district", "division"}
_PLURAL = {"library": "libraries"}


def _four(values: Sequence[Any]) -> tuple[float, float, float, float]:
    """Four numbers as a bounds tuple (``ValueError`` for another count)."""
    a, b, c, d = (float(v) for v in values)
    return (a, b, c, d)


def _close(matcher: difflib.SequenceMatcher[str], mine: int, other: str) -> float:
    """``difflib``'s similarity of ``other`` to the query (``mine`` long), or 0.0 below the cut-off."""
    if abs(len(other) - mine) > 0.4 * max(len(other), mine):
        return 0.0
    matcher.set_seq2(other)
    if matcher.real_quick_ratio() < _FUZZY_CUTOFF or matcher.quick_ratio() < _FUZZY_CUTOFF:
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= _FUZZY_CUTOFF else 0.0


def _partial_score(words: tuple[str, ...], compact: str, a: _Alias) -> tuple[float, str] | None:
    """The prefix or all-words score of an alias for a query, or None."""
    if len(compact) >= 2 and a.compact.startswith(compact):
        return (_SCORE_PREFIX + 0.2 * len(compact) / len(a.compact)) * a.weight, "prefix"
    if all(any(w == t or (len(w) >= 3 and t.startswith(w)) for t in a.words) for w in words):
        return (_SCORE_WORDS + 0.2 * len(compact) / max(len(a.compact), 1)) * a.weight, "words"
    return None


class _Builder:
    """Collects places and their spellings while :meth:`PlaceIndex.build` runs."""

    def __init__(self, npa: gpd.GeoDataFrame, *, min_share: float, min_line_ft: float) -> None:
        self.npa = npa
        self.crs = npa.crs
        self.ids = npa["npa"].astype(int).to_numpy()
        self.min_share = min_share
        self.min_line_ft = min_line_ft
        self.places: list[Place] = []
        self.aliases: list[list[tuple[str, float]]] = []
        self._npa_bounds = dict(zip(self.ids, _bounds_4326(npa.geometry), strict=True))
        self._npa_area = pd.Series(shapely.area(np.asarray(npa.geometry.to_numpy())), index=self.ids)

    def add(self, place: Place, spellings: Iterable[tuple[str, float]]) -> None:
        self.places.append(place)
        self.aliases.append(list(spellings))

    def _bounds_of(self, ids: Iterable[int]) -> tuple[float, float, float, float] | None:
        boxes = [self._npa_bounds[i] for i in ids if i in self._npa_bounds]
        if not boxes:
            return None
        b = np.asarray(boxes)
        return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    def add_npas(self) -> None:
        for n in sorted(self.ids.tolist()):
            self.add(
                Place(f"npa:{n}", "npa", f"NPA {n}", (n,), "neighborhood profile area", self._npa_bounds[n]),
                [(str(n), 1.0), (f"NPA {n}", 1.0), (f"neighborhood {n}", 1.0), (f"neighborhood profile area {n}", 1.0)],
            )

    def add_groups(self, groups: pd.DataFrame | None, council: gpd.GeoDataFrame | None) -> None:
        """Towns, council and county commission districts from the groups file (or the 2013 council lines)."""
        known = set(self.ids.tolist())
        if groups is not None and len(groups):
            for (gtype, group), g in groups.groupby(["group_type", "group"], sort=True):
                ids = tuple(sorted(set(g["npa"].astype(int)) & known))
                spec = group_place(str(gtype), str(group))
                if spec is not None:
                    kind, name, detail, spell = spec
                    self.add(Place(f"{kind}:{group}", kind, name, ids, detail, self._bounds_of(ids)), spell)
        if groups is None or "city_council" not in set(groups["group_type"]):
            self.add_polygons(council, "council district")

    def _pairs(self, geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(place position, NPA id, shared area or length) for every place and NPA that intersect."""
        g = np.asarray(geoms.to_crs(self.crs).to_numpy())
        left, right = self.npa.sindex.query(g, predicate="intersects")
        shared = shapely.intersection(g[left], self.npa.geometry.to_numpy()[right])
        amount = shapely.area(shared) if shapely.get_dimensions(g[:1]).max(initial=0) == 2 else shapely.length(shared)
        return left, self.ids[right], amount

    @staticmethod
    def _covered(
        place: np.ndarray, npa: np.ndarray, amount: np.ndarray, keep: np.ndarray
    ) -> dict[int, tuple[int, ...]]:
        """Place -> the NPAs kept by ``keep``, plus the NPA with the largest ``amount`` (ties: smallest id)."""
        runs = pd.DataFrame({"place": place, "npa": npa.astype(int), "amount": amount})
        top = runs[runs["amount"] > 0].sort_values(["amount", "npa"], ascending=[False, True]).drop_duplicates("place")
        chosen = pd.concat([runs[keep], top])
        return {int(k): tuple(sorted(set(v))) for k, v in chosen.groupby("place")["npa"]}

    def add_polygons(self, gdf: gpd.GeoDataFrame, kind: str) -> None:
        """Polygon places: NPAs with more than ``min_share`` of their area inside, or holding 20 % of the place."""
        if gdf is None or len(gdf) == 0:
            return
        gdf = gdf.reset_index(drop=True)
        place, npa, area = self._pairs(gdf.geometry)
        own = shapely.area(np.asarray(gdf.to_crs(self.crs).geometry.to_numpy()))[place]
        keep = (area > self.min_share * self._npa_area[npa]) | (area >= 0.2 * own)
        covered = self._covered(place, npa, area, np.asarray(keep))
        bounds = _bounds_4326(gdf.geometry)
        for i, row in gdf.iterrows():
            key, name, detail, spell = polygon_place(kind, row)
            self.add(Place(f"{kind}:{key}", kind, name, covered.get(int(i), ()), detail, bounds[int(i)]), spell)

    def add_points(self, gdf: gpd.GeoDataFrame) -> None:
        """Landmarks: the NPA containing each point (on a shared boundary, the smallest id)."""
        if gdf is None or len(gdf) == 0:
            return
        pts = gdf.reset_index(drop=True)
        left, right = self.npa.sindex.query(
            np.asarray(pts.to_crs(self.crs).geometry.to_numpy()), predicate="intersects"
        )
        home = pd.Series(self.ids[right]).groupby(left).min().to_dict()
        bounds = _bounds_4326(pts.geometry)
        for i, row in pts.iterrows():
            kind, name = str(row["kind"]), str(row["name"])
            ids = (int(home[int(i)]),) if int(i) in home else ()
            detail = ", ".join(
                str(row.get(c, "")) for c in ("category", "address") if str(row.get(c, "")) not in ("", "nan")
            )
            spell = [(name, 1.0), (f"{name} {kind}", 1.0)]
            self.add(Place(f"{kind}:{int(row['row'])}:{name}", kind, name, ids, detail, bounds[int(i)]), spell)

    def add_lines(self, gdf: gpd.GeoDataFrame, kind: str) -> None:
        """Roads or greenways, one place per normalised name: NPAs they run ``min_line_ft`` through."""
        if gdf is None or len(gdf) == 0:
            return
        keys = gdf["name"].map(lambda s: " ".join(normalize(s)))
        lines = gdf.loc[(keys != "").to_numpy()].assign(_key=keys[keys != ""]).reset_index(drop=True)
        codes, uniques = pd.factorize(lines["_key"], sort=True)
        seg, npa, length = self._pairs(lines.geometry)
        run = pd.DataFrame({"place": codes[seg], "npa": npa, "ft": length}).groupby(["place", "npa"], as_index=False)
        per = run["ft"].sum()
        covered = self._covered(
            per["place"].to_numpy(),
            per["npa"].to_numpy(),
            per["ft"].to_numpy(),
            (per["ft"] >= self.min_line_ft).to_numpy(),
        )
        box = (
            lines.geometry.to_crs("EPSG:4326")
            .bounds.groupby(codes)
            .agg({"minx": "min", "miny": "min", "maxx": "max", "maxy": "max"})
        )
        what = "main road (state-maintained)" if kind == "road" else "greenway (2013)"
        for code, g in lines.groupby(codes, sort=True):
            name = Counter(g["name"]).most_common(1)[0][0]
            r = box.loc[code]
            b = (float(r["minx"]), float(r["miny"]), float(r["maxx"]), float(r["maxy"]))
            detail = f"{what}, {len(g)} segment(s)"
            self.add(
                Place(f"{kind}:{uniques[code]}", kind, name, covered.get(int(code), ()), detail, b),
                line_spellings(name, kind),
            )


def _bounds_4326(geoms: gpd.GeoSeries) -> list[tuple[float, float, float, float] | None]:
    """Each geometry's bounds in longitude/latitude (None for a missing one)."""
    b = geoms.to_crs("EPSG:4326").bounds.to_numpy()
    return [None if np.isnan(r).any() else (float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in b]


def build_place_index(
    settings: Settings | None = None, *, with_divisions: bool = True, layers: ReferenceLayers | None = None
) -> PlaceIndex:
    """Build the :class:`PlaceIndex` from the fetched data (NPAs, reference layers, NPA groups, divisions).

    Reference files that are not fetched are left out (the index then has fewer kinds); the NPAs are
    required. ``layers``: the reference layers already loaded (e.g. from the cache); None reads them.
    Building takes seconds: :func:`geo.layers.prepared.place_index` keeps the result on disk.
    """
    s = settings if settings is not None else get_settings()
    npa = build.npa(s)
    if layers is None:
        layers, _ = load_reference_layers(settings=s, missing="skip")
    try:
        groups, _ = load_npa_groups(settings=s)
    except DataFileError:
        groups = None
    divisions = None
    if with_divisions:
        try:
            divisions = build.divisions(s)
        except DataFileError:
            divisions = None
    return PlaceIndex.build(npa, layers, groups, divisions=divisions)
