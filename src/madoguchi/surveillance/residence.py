"""The patient's 所在地 as a place: found by name, reading or 団体コード, routed to a health centre.

A ward of a designated city (政令指定都市の区, e.g. 神戸市長田区 281069) is not a body with a
health centre of its own: the city runs it. Health centres cover 団体コード, so a ward code is
routed first as itself (a centre may cover one ward) and then as its city. The designated
cities are read from the bundled LG_CODE list (a city whose children are wards), not listed
here, so every one of them works.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from madoguchi.core.checkdigits import CheckDigitError, lgcode_with_check_digit, validate_lgcode
from madoguchi.core.japanese import normalize_digits, normalize_for_search
from madoguchi.tenants.onboarding import lgcode_kana
from madoguchi.tenants.services import LgCodeRow, lgcode_rows

__all__ = [
    "Place",
    "designated_cities",
    "place_exact",
    "place_get",
    "place_search",
    "routing_codes",
]

# Suffixes of the bodies a person lives in; 郡, 振興局, 支庁 and 特別区部 are groupings.
_BODY_SUFFIXES = ("市", "区", "町", "村")


@dataclass(frozen=True, slots=True)
class Place:
    """A municipality or a designated city's ward a patient can live in."""

    code: str  # 6 digits with the check digit
    name: str  # 神戸市長田区, 佐用町, 千代田区
    prefecture: str  # 兵庫県
    kana: str  # コウベシナガタク (may be empty)
    city_code: str  # the designated city of a ward, else ""

    @property
    def label(self) -> str:
        """As offered to the doctor: 「兵庫県 神戸市長田区」."""
        return f"{self.prefecture} {self.name}"


def _is_ward_parent(row: LgCodeRow, rows: dict[str, LgCodeRow]) -> bool:
    return row.name.endswith("市") and any(
        r.parent_code == row.code and r.name.endswith("区") for r in rows.values()
    )


@cache
def designated_cities() -> dict[str, LgCodeRow]:
    """政令指定都市: the cities of the bundled list that are divided into wards."""
    rows = lgcode_rows()
    parents = {r.parent_code for r in rows.values() if r.parent_code and r.name.endswith("区")}
    return {
        code: rows[code]
        for code in sorted(parents)
        if code in rows and _is_ward_parent(rows[code], rows)
    }


@cache
def _places() -> dict[str, Place]:
    rows = lgcode_rows()
    kana = lgcode_kana()
    cities = designated_cities()
    places: dict[str, Place] = {}
    for row in rows.values():
        if row.code[2:5] == "000" or not row.name.endswith(_BODY_SUFFIXES):
            continue
        prefecture = rows.get(lgcode_with_check_digit(row.code[:2] + "000"))
        city = cities.get(row.parent_code or "")
        name = f"{city.name}{row.name}" if city is not None else row.name
        reading = kana.get(row.code, "")
        if city is not None and reading:
            reading = kana.get(city.code, "") + reading
        places[row.code] = Place(
            code=row.code,
            name=name,
            prefecture=prefecture.name if prefecture is not None else "",
            kana=reading,
            city_code=city.code if city is not None else "",
        )
    return places


def place_get(code: str) -> Place | None:
    """The place with 団体コード ``code`` (6 digits), None when there is none."""
    return _places().get(code)


def routing_codes(code: str) -> tuple[str, ...]:
    """The codes to look for a covering health centre under, most specific first."""
    place = place_get(code)
    if place is not None and place.city_code:
        return (code, place.city_code)
    return (code,)


def _code_in(text: str) -> str | None:
    digits = normalize_digits(text).strip()
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        return validate_lgcode(digits)
    except CheckDigitError:
        return None


def place_search(query: str, *, prefecture: str = "", limit: int = 20) -> list[Place]:
    """Places whose name (with or without the prefecture), reading or code match ``query``.

    Exact matches come first, then those in ``prefecture`` (its 2-digit code), then by code.
    Hiragana and katakana, 全角 and spaces do not matter: 「ながたく」 finds 神戸市長田区.
    """
    code = _code_in(query)
    if code is not None:
        place = place_get(code)
        return [place] if place is not None else []
    key = normalize_for_search(query)
    if not key:
        return []
    found: list[tuple[bool, bool, str, Place]] = []
    for place in _places().values():
        keys = _exact_keys(place)
        exact = key in keys
        partial = any(key in k for k in keys)
        if exact or partial:
            found.append((not exact, place.code[:2] != prefecture, place.code, place))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found[:limit]]


def _city_name(place: Place) -> str:
    city = designated_cities().get(place.city_code)
    return city.name if city is not None else ""


def place_exact(query: str) -> Place | None:
    """The one place ``query`` names exactly (a code, or a name or reading no other place has).

    A ward's own name counts: 「北区」 names 東京都北区 and the 北区 of several cities, so none.
    """
    code = _code_in(query)
    if code is not None:
        return place_get(code)
    key = normalize_for_search(query)
    if not key:
        return None
    hits = [p for p in _places().values() if key in _exact_keys(p)]
    return hits[0] if len(hits) == 1 else None


@cache
def _exact_keys(place: Place) -> tuple[str, ...]:
    return (
        normalize_for_search(place.name),
        normalize_for_search(place.prefecture + place.name),
        normalize_for_search(place.name.removeprefix(_city_name(place))),
        place.kana or "-",
    )
