"""Fixtures of the API tests: files under a temporary MEDIA_ROOT and a fixed rate-limit clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from tests.api.support import freeze_ratelimit_clock, use_temporary_media


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    return use_temporary_media(settings, tmp_path)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_ratelimit_clock(monkeypatch)
