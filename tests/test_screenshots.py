"""``make screenshots`` keeps working: its script, run on a small subset of the journeys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.browser
def test_the_screenshot_command_serves_a_fresh_demo_and_writes_each_page(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    out = tmp_path / "shots"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/screenshots.py"),
            "--out",
            str(out),
            "--only",
            "open-data",
            "--only",
            "nurse",
            "--width",
            "360",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = sorted(p.name for p in (out / "360").glob("*.png"))
    assert names == [
        "001-site-index-list.png",
        "002-municipality-home-services.png",
        "003-opendata-dashboard-charts.png",
        "004-opendata-catalogue-files.png",
        "005-opendata-index-list.png",
        "006-opendata-prefecture-sum.png",
        "007-nurse-worklist.png",
        "008-nurse-case.png",
    ]
    assert all((out / "360" / n).read_bytes().startswith(b"\x89PNG") for n in names)
    assert done.stdout.splitlines()[-1] == f"8 screenshots in {out}"
    assert not list(out.glob("1280"))
