"""How place names are compared and spelled: :func:`normalize` and the spellings of each kind of place.

Private to :mod:`geo.layers.places`. A place has several spellings, each with a weight (the share of an
exact match's score it gives): a road is found by its full name (1.0), without its direction (0.95) and
without its street type (0.9); a ZIP code by ``28205``, ``ZIP 28205`` and ``ZIP code 28205``.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pandas as pd

__all__ = ["normalize", "numbers", "line_spellings", "council_spellings", "group_place", "polygon_place"]


#: Word -> the spelling both the names and the query are reduced to.
_SYNONYMS: dict[str, str] = {
    alias: word
    for word, aliases in (
        ("road", "rd"), ("street", "st str"), ("boulevard", "bv blvd bl boul"), ("highway", "hy hwy"),
        ("freeway", "fr frwy fwy"), ("ramp", "ra rp"), ("parkway", "py pkwy pky"), ("drive", "dr drv"),
        ("lane", "ln"), ("avenue", "av ave"), ("court", "ct crt"), ("trail", "tl trl"), ("circle", "cr cir"),
        ("place", "pl"), ("way", "wy"), ("extension", "ext"), ("center", "ctr cntr centre"), ("mount", "mt"),
        ("fort", "ft"), ("interstate", "i"), ("north", "n"), ("south", "s"), ("east", "e"), ("west", "w"),
        ("northeast", "ne"), ("northwest", "nw"), ("southeast", "se"), ("southwest", "sw"),
        ("northbound", "nb"), ("southbound", "sb"), ("elementary", "elem"), ("school", "sch schoo"),
        ("college", "clg coll"), ("university", "univ"), ("hospital", "hosp"), ("neighborhood", "neighbourhood"),
        ("zip", "zipcode"), ("1st", "first"), ("2nd", "second"), ("3rd", "third"), ("4th", "fourth"),
        ("5th", "fifth"), ("6th", "sixth"), ("7th", "seventh"), ("8th", "eighth"), ("9th", "ninth"),
        ("10th", "tenth"), ("11th", "eleventh"), ("12th", "twelfth"),
    )
    for alias in aliases.split()
}  # fmt: skip

_DIRECTIONS = {"north", "south", "east", "west", "northeast", "northwest", "southeast", "southwest"}
_STREET_TYPES = {
    "road", "street", "boulevard", "highway", "freeway", "ramp", "parkway", "drive", "lane", "avenue", "court",
    "trail", "circle", "place", "way", "extension",
}  # fmt: skip

_MAX_QUERY = 200


@lru_cache(maxsize=16_384)
def normalize(text: str) -> tuple[str, ...]:
    """The words a name or a query is compared by.

    Lower case, accents and apostrophes dropped, every other character that is not a letter or
    a digit a space, a number split from the letters before it (``"I77"`` -> ``i 77``), then each
    word spelled one way (:data:`_SYNONYMS`: ``st`` -> ``street``, ``s`` -> ``south``,
    ``fourth`` -> ``4th`` ...).

    Examples
    --------
    >>> normalize("S Tryon St") == normalize("South Tryon Street")
    True
    >>> normalize("Plaza-Midwood")
    ('plaza', 'midwood')
    >>> normalize("Fourth Ward")
    ('4th', 'ward')
    """
    text = unicodedata.normalize("NFKD", str(text)[:_MAX_QUERY]).lower()
    chars: list[str] = []
    for c in text:
        if unicodedata.combining(c) or c in "'\u2019`":
            continue
        if c.isdigit() and chars and chars[-1].isalpha():
            chars.append(" ")
        chars.append(c if c.isalnum() and c.isascii() else (" and " if c == "&" else " "))
    return tuple(_SYNONYMS.get(w, w) for w in "".join(chars).split())


def numbers(words: tuple[str, ...]) -> frozenset[str]:
    """The words holding a digit: a close spelling must have the same ones ("NPA 380" is not "NPA 38")."""
    return frozenset(w for w in words if any(c.isdigit() for c in w))


def line_spellings(name: str, kind: str) -> list[tuple[str, float]]:
    """A road's name, then without its direction (0.95), then without its street type too (0.9)."""
    words = list(normalize(name))
    out = [(name, 1.0)]
    if kind == "greenway":
        if words and words[-1] == "greenway" and len(words) > 1:
            out.append((" ".join(words[:-1]), 0.9))
        return out
    if len(words) > 1 and words[0] in _DIRECTIONS:
        words = words[1:]
        out.append((" ".join(words), 0.95))
    if words and words[0] == "the" and len(words) > 1:
        out.append((" ".join(words[1:]), 0.9))
    while len(words) > 1 and words[-1] in _STREET_TYPES | _DIRECTIONS | {"northbound", "southbound"}:
        words = words[:-1]
        out.append((" ".join(words), 0.9))
    return out


def council_spellings(n: str) -> list[tuple[str, float]]:
    return [
        (f"council district {n}", 1.0),
        (f"city council district {n}", 1.0),
        (f"district {n}", 1.0),
        (f"CD {n}", 0.95),
    ]


_QOL_LISTS = "NPAs listed by the Quality of Life Explorer"


def group_place(gtype: str, group: str) -> tuple[str, str, str, list[tuple[str, float]]] | None:
    """Kind, name, detail and spellings of a group of the NPA groups file (None for another group type)."""
    if gtype == "jurisdiction":
        spell = [(group, 1.0), (f"town of {group}", 1.0), (f"city of {group}", 1.0)]
        return "town", group, f"town or city ({_QOL_LISTS})", spell
    if gtype == "city_council":
        detail = f"Charlotte City Council district ({_QOL_LISTS}, 2023)"
        return "council district", f"Council district {group}", detail, council_spellings(group)
    if gtype == "county_commission":
        spell = [(f"county commission district {group}", 1.0), (f"commission district {group}", 1.0)]
        return "county commission district", f"County Commission district {group}", f"{_QOL_LISTS}", spell
    return None


def polygon_place(kind: str, row: pd.Series) -> tuple[str, str, str, list[tuple[str, float]]]:
    """Key, name, detail and spellings of a polygon place."""
    if kind == "zip":
        code = str(row["zipcode"])
        city = str(row.get("post_office_city", "") or "")
        spell = [(code, 1.0), (f"zip {code}", 1.0), (f"zip code {code}", 1.0)]
        return code, f"ZIP {code}", f"ZIP code area{f' ({city} post office)' if city else ''}, 2013", spell
    if kind == "division":
        name, short = str(row["division"]), str(row.get("short_name", row["division"]))
        return name, name, "CMPD patrol division", [(name, 1.0), (short, 1.0), (f"{short} police division", 1.0)]
    if kind == "council district":
        n = str(row["district"])
        return n, f"Council district {n}", "Charlotte City Council district (2013 lines)", council_spellings(n)
    name = str(row["name"])
    return name, name, f"{kind} (2013)", [(name, 1.0), (f"{name} {kind}", 1.0)]
