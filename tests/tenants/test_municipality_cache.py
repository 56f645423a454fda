"""The active municipality is cached by slug in each process and read again after any change."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from madoguchi.tenants import selectors
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import municipality_get_active
from tests.isolation import Tenant

pytestmark = pytest.mark.django_db


def municipality_queries(slug: str) -> int:
    """How many queries of the municipality table resolving ``slug`` took."""
    with CaptureQueriesContext(connection) as queries:
        municipality_get_active(slug=slug)
    return sum("tenants_municipality" in q["sql"] for q in queries.captured_queries)


def test_the_second_lookup_of_a_slug_reads_no_database(tenant_a: Tenant) -> None:
    """Resolving /kobe/ again needs no query: the municipality is kept by slug."""
    assert municipality_queries("kobe") == 1
    assert municipality_queries("kobe") == 0
    again = municipality_get_active(slug="kobe")
    assert again is not None
    assert (again.pk, again.name, again.prefecture.code) == (
        tenant_a.municipality.pk,
        tenant_a.municipality.name,
        tenant_a.municipality.prefecture.code,
    )


def test_pages_of_one_municipality_query_it_once(tenant_a: Tenant) -> None:
    """Two page requests: the second resolves the municipality without the database."""
    client = Client()
    assert client.get("/kobe/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/kobe/").status_code == 200
    assert not [q for q in queries.captured_queries if 'FROM "tenants_municipality"' in q["sql"]]


def test_a_change_is_seen_at_once(tenant_a: Tenant) -> None:
    """Renaming or deactivating a municipality is visible on the next lookup."""
    assert municipality_get_active(slug="kobe") is not None
    municipality = Municipality.objects.get(slug="kobe")
    municipality.name = "神戸市（改称）"
    municipality.save(update_fields=["name"])
    renamed = municipality_get_active(slug="kobe")
    assert renamed is not None
    assert renamed.name == "神戸市（改称）"

    municipality.is_active = False
    municipality.save(update_fields=["is_active"])
    assert municipality_get_active(slug="kobe") is None
    assert Client().get("/kobe/").status_code == 404


def test_a_change_made_by_another_process_is_seen(tenant_a: Tenant) -> None:
    """Another worker's change reaches this one through the shared generation token."""
    assert municipality_get_active(slug="kobe") is not None
    # What another process does: it changes the row and replaces the shared token; this
    # process's own cached entry is untouched.
    Municipality.objects.filter(slug="kobe").update(name="別の名前")
    assert municipality_get_active(slug="kobe").name == tenant_a.municipality.name  # type: ignore[union-attr]
    caches["counters"].set("tenants:municipality-generation", "from-another-process", None)
    fresh = municipality_get_active(slug="kobe")
    assert fresh is not None
    assert fresh.name == "別の名前"


def test_a_caller_changing_its_copy_does_not_change_the_cached_one(tenant_a: Tenant) -> None:
    """Each lookup gets its own object: changing one never leaks into the next request."""
    first = municipality_get_active(slug="kobe")
    assert first is not None
    first.name = "書き換え"
    second = municipality_get_active(slug="kobe")
    assert second is not None
    assert second.name == tenant_a.municipality.name


def test_an_unknown_slug_is_not_kept(tenant_a: Tenant) -> None:
    """A slug that is not served yet is looked up every time, so a new one appears at once."""
    assert municipality_get_active(slug="akashi") is None
    assert "akashi" not in selectors._by_slug
    assert municipality_queries("akashi") == 1


def test_without_the_cache_server_every_lookup_reads_the_database(
    tenant_a: Tenant, settings: object
) -> None:
    """When the shared cache cannot be reached nothing is kept (nothing could be invalidated)."""
    setattr(  # noqa: B010
        settings,
        "CACHES",
        {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "counters": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://127.0.0.1:1/0",
            },
        },
    )
    assert municipality_queries("kobe") == 1
    assert municipality_queries("kobe") == 1
