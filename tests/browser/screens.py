"""Optional screenshots from browser tests: set MADOGUCHI_SCREENSHOTS to a folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SHOTS = os.environ.get("MADOGUCHI_SCREENSHOTS", "")


def shoot(page: Any, name: str) -> None:
    """The page at 360 and 1280 px into the folder, then back to the tests' 390 px phone."""
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
