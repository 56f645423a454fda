"""Fixtures shared by the whole suite, including the tenant-isolation kit (see isolation.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

from tests.isolation import Tenant, make_tenant

# Property tests check behaviour, not speed: a busy CI machine must not turn a slow example
# (the first jpholiday lookup, a garbage collection) into a failure.
hypothesis_settings.register_profile("madoguchi", deadline=None)
hypothesis_settings.load_profile("madoguchi")


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    """神戸市 with departments and one staff member of every role."""
    return make_tenant("281000", "kobe")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    """佐用町, the other municipality that tenant_a's staff must never reach."""
    return make_tenant("285013", "sayo")


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(
    settings: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Uploads written by tests go to a throwaway folder, never the developer's var/media."""
    setattr(settings, "MEDIA_ROOT", tmp_path_factory.mktemp("media"))  # noqa: B010


@pytest.fixture(autouse=True)
def _read_only_flag_in_a_temporary_folder(
    settings: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Read-only mode follows a flag file of the test's own, never the developer's var/."""
    setattr(settings, "READ_ONLY_FILE", tmp_path_factory.mktemp("flag") / "read-only")  # noqa: B010
    setattr(settings, "READ_ONLY_CHECK_SECONDS", 0)  # noqa: B010


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in Japanese, whatever language an earlier test's request activated.

    Django's LocaleMiddleware activates a request's language in the thread that serves it and
    leaves it active; a test client request in English would otherwise make the next test of
    the same worker build its expected values (gettext) in English.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    """Each test starts with no rate-limit counts and no cached municipality (both outlive a
    test's database)."""
    from django.core.cache import caches

    from madoguchi.tenants.selectors import municipality_cache_clear

    caches["counters"].clear()
    municipality_cache_clear()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove this process's counters file (the test settings name one per process)."""
    from pathlib import Path

    from django.conf import settings

    location = settings.CACHES["counters"].get("LOCATION", "")
    if settings.CACHES["counters"]["BACKEND"].endswith("SQLiteCache") and location:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{location}{suffix}").unlink(missing_ok=True)
