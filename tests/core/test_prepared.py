"""Queries compiled once per connection: same rows as the ORM, new values each run."""

from __future__ import annotations

import gc
import weakref

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext

from madoguchi.core.prepared import PreparedValues
from madoguchi.tenants.models import Department, Municipality
from tests.conftest import Tenant

_DEPARTMENTS = PreparedValues(
    "test_departments",
    lambda municipality, code: Department.objects.filter(
        municipality_id=municipality, code=code, retired_at__isnull=True
    ).values_list("pk", "name", "municipality__name", "municipality__created_at"),
    municipality=int,
    code=str,
)


@pytest.mark.django_db
def test_rows_are_the_orm_rows_for_each_new_value(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """The statement is built once; each run takes its own values and gets exactly what the
    ORM returns for them, converted the same way (aware datetimes, on SQLite too)."""
    for tenant in (tenant_a, tenant_b):
        for code in ("welfare", "citizens", "nothing-here"):
            expected = list(
                Department.objects.filter(
                    municipality=tenant.municipality, code=code, retired_at__isnull=True
                ).values_list("pk", "name", "municipality__name", "municipality__created_at")
            )
            assert _DEPARTMENTS.rows(municipality=tenant.municipality.pk, code=code) == expected
    welfare = _DEPARTMENTS.first(municipality=tenant_a.municipality.pk, code="welfare")
    assert welfare is not None
    assert welfare[0] == tenant_a.departments["welfare"].pk
    assert welfare[3].tzinfo is not None
    assert _DEPARTMENTS.first(municipality=tenant_a.municipality.pk, code="nothing-here") is None


@pytest.mark.django_db
def test_the_sql_is_built_once_per_connection_and_runs_as_one_query(tenant_a: Tenant) -> None:
    pk = tenant_a.municipality.pk
    _DEPARTMENTS.rows(municipality=pk, code="welfare")
    with CaptureQueriesContext(connection) as queries:
        _DEPARTMENTS.rows(municipality=pk, code="citizens")
        _DEPARTMENTS.rows(municipality=pk, code="welfare")
    assert len(queries) == 2
    assert queries[0]["sql"].split("WHERE")[0] == queries[1]["sql"].split("WHERE")[0]


@pytest.mark.django_db
def test_constants_of_the_query_stay_and_markers_never_reach_the_database(
    tenant_a: Tenant,
) -> None:
    """A retired department is not found (the constant IS NULL stays part of the query), and
    the values sent are the caller's, never the markers the statement was built with."""
    department = tenant_a.departments["citizens"]
    Department.objects.filter(pk=department.pk).update(retired_at="2026-01-01T00:00:00+09:00")
    with CaptureQueriesContext(connection) as queries:
        found = _DEPARTMENTS.rows(municipality=tenant_a.municipality.pk, code="citizens")
    assert found == []
    assert "\x00" not in queries[0]["sql"]
    assert "-7364019283" not in queries[0]["sql"]


def test_an_argument_the_query_does_not_use_is_refused() -> None:
    unused = PreparedValues(
        "test_unused",
        lambda municipality, code: Municipality.objects.filter(pk=municipality).values_list("pk"),
        municipality=int,
        code=str,
    )
    with pytest.raises(RuntimeError, match="code"):
        unused.rows(using=DEFAULT_DB_ALIAS, municipality=1, code="x")


def test_an_argument_type_other_than_int_or_str_is_refused() -> None:
    with pytest.raises(TypeError, match="must be int or str"):
        PreparedValues(
            "test_float",
            lambda size: Municipality.objects.filter(pk=size).values_list("pk"),
            size=float,
        )


def test_the_statement_kept_for_a_connection_does_not_keep_it_alive() -> None:
    """Connections belong to threads that the server may end: the statement kept for one must
    not keep a finished thread's connection (and its open file) alive."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    compiled = _DEPARTMENTS._statement(other)
    assert _DEPARTMENTS._statement(other) is compiled  # compiled once per connection
    gone = weakref.ref(other)
    del other, compiled
    gc.collect()

    assert gone() is None
