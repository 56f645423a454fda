"""A map of open reports drawn on the server: tiles of a configured tile server and pins in one
SVG, so it shows without JavaScript. Web Mercator tile numbering (``{z}/{x}/{y}``), 256 px tiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

__all__ = ["MapPin", "MapTile", "PublicMap", "public_map", "tile_origin"]

TILE = 256


@dataclass(frozen=True, slots=True)
class MapTile:
    url: str
    x: int  # position in the drawing, px
    y: int


@dataclass(frozen=True, slots=True)
class MapPin:
    number: int  # the row of the list it stands for (1-based)
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class PublicMap:
    size: int
    tiles: list[MapTile]
    pins: list[MapPin]


def tile_origin(url_template: str) -> str:
    """The origin (``https://tiles.example.jp``) of a tile URL template, for the CSP; refuses a
    template without ``{z}``, ``{x}`` and ``{y}`` or not on http(s) (ValueError)."""
    parts = urlsplit(url_template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("the tile URL must start with https:// (or http://)")
    if not all(key in url_template for key in ("{z}", "{x}", "{y}")):
        raise ValueError("the tile URL must contain {z}, {x} and {y}")
    return f"{parts.scheme}://{parts.netloc}"


def _world(latitude: float, longitude: float, zoom: int) -> tuple[float, float]:
    scale = TILE * 2**zoom
    lat = math.radians(max(min(latitude, 85.0511), -85.0511))
    x = (longitude + 180.0) / 360.0 * scale
    y = (1.0 - math.log(math.tan(lat) + 1.0 / math.cos(lat)) / math.pi) / 2.0 * scale
    return x, y


def public_map(
    positions: list[tuple[Decimal | None, Decimal | None]],
    *,
    tile_url: str,
    tiles_across: int = 3,
    max_zoom: int = 17,
) -> PublicMap | None:
    """The map showing every position (None when none is known): the highest zoom at which all
    fit with a margin, centred on them. Pins are numbered by their place in ``positions``."""
    known = [
        (n, float(lat), float(lon))
        for n, (lat, lon) in enumerate(positions, start=1)
        if lat is not None and lon is not None
    ]
    if not known:
        return None
    size = TILE * tiles_across
    zoom = max_zoom
    while zoom > 0:
        points = [_world(lat, lon, zoom) for _n, lat, lon in known]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        if max(xs) - min(xs) <= size - TILE and max(ys) - min(ys) <= size - TILE:
            break
        zoom -= 1
    points = [_world(lat, lon, zoom) for _n, lat, lon in known]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    left = (max(xs) + min(xs)) / 2 - size / 2
    top = (max(ys) + min(ys)) / 2 - size / 2
    count = 2**zoom
    tiles: list[MapTile] = []
    for ty in range(math.floor(top / TILE), math.floor((top + size - 1) / TILE) + 1):
        if not 0 <= ty < count:
            continue
        for tx in range(math.floor(left / TILE), math.floor((left + size - 1) / TILE) + 1):
            url = tile_url.format(z=zoom, x=tx % count, y=ty)
            tiles.append(MapTile(url, round(tx * TILE - left), round(ty * TILE - top)))
    pins = [
        MapPin(n, round(x - left, 1), round(y - top, 1))
        for (n, _lat, _lon), (x, y) in zip(known, points, strict=True)
    ]
    return PublicMap(size, tiles, pins)
