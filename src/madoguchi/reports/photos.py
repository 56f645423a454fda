"""Photos of reports: read the EXIF GPS position, then store the picture without any EXIF.

The picture is decoded and re-encoded from its pixels only (JPEG, or PNG for images with
transparency), so no metadata of the original file (EXIF, XMP, ICC comments, maker notes,
thumbnails) can survive. The orientation tag is applied to the pixels first, so the photo
still stands the right way up.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
GPS_IFD = 0x8825


class PhotoError(ValueError):
    """The upload is not a picture that can be read."""


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    data: bytes
    extension: str
    width: int
    height: int
    latitude: Decimal | None
    longitude: Decimal | None


def _degrees(value: object) -> float:
    if not isinstance(value, tuple | list) or len(value) != 3:
        raise ValueError("not degrees, minutes, seconds")
    d, m, s = (float(part) for part in value)
    return d + m / 60 + s / 3600


def gps_position(image: Image.Image) -> tuple[Decimal, Decimal] | None:
    """The (latitude, longitude) of the EXIF GPS block, or None when absent or unreadable."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
        latitude = _degrees(gps[2]) * (-1 if gps.get(1) in ("S", b"S") else 1)
        longitude = _degrees(gps[4]) * (-1 if gps.get(3) in ("W", b"W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return Decimal(f"{latitude:.6f}"), Decimal(f"{longitude:.6f}")


def photo_clean(data: bytes) -> CleanPhoto:
    """Read the position, then the pixels only, re-encoded (PhotoError when not a picture)."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as original:
            position = gps_position(original)
            upright = ImageOps.exif_transpose(original)
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            transparent = upright.mode in ("RGBA", "LA") or (
                upright.mode == "P" and "transparency" in upright.info
            )
            pixels = upright.convert("RGBA" if transparent else "RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as exc:
        raise PhotoError(str(exc)) from None
    # A new image from the pixels alone: nothing of the original's metadata is carried over.
    bare = Image.new(pixels.mode, pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    if transparent:
        bare.save(out, format="PNG")
        extension = "png"
    else:
        bare.save(out, format="JPEG", quality=85)
        extension = "jpg"
    latitude, longitude = position if position else (None, None)
    return CleanPhoto(out.getvalue(), extension, bare.width, bare.height, latitude, longitude)
