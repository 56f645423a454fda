"""The indexes of procedures_application: each one is written by every submission (under
SQLite's one write lock), so none is kept that no query uses, and the lookups that need one
use one."""

from __future__ import annotations

import pytest
from django.db import connection

from madoguchi.procedures.models import Application

TABLE = Application._meta.db_table


def _indexes() -> dict[str, tuple[list[str], bool]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {
        name: (info["columns"], bool(info["unique"]))
        for name, info in constraints.items()
        if info["index"] and not info["primary_key"]
    }


@pytest.mark.django_db
def test_no_single_column_index_on_the_search_and_duplicate_columns() -> None:
    """name_search is searched with LIKE '%…%' (no B-tree index serves it); the blind
    indexes are looked up within a procedure, through the composite indexes."""
    single = {tuple(columns) for columns, _unique in _indexes().values() if len(columns) == 1}
    assert not single & {("name_search",), ("mynumber_index",), ("person_index",)}
    composite = {tuple(columns) for columns, _unique in _indexes().values()}
    assert ("procedure_id", "mynumber_index") in composite
    assert ("procedure_id", "person_index") in composite
    # The queue reads a municipality's rows through its own index (kept on purpose).
    assert ("municipality_id",) in single


@pytest.mark.django_db
def test_the_duplicate_check_and_the_status_lookup_use_an_index() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans an empty table by cost")
    plans = {}
    for name, queryset in {
        "mynumber": Application.objects.filter(procedure_id=1, mynumber_index="x").exclude(
            state__in=["withdrawn", "cancelled"]
        ),
        "person": Application.objects.filter(procedure_id=1, person_index="x").exclude(
            state__in=["withdrawn", "cancelled"]
        ),
        "status": Application.objects.filter(municipality_id=1, receipt_number="1234567890"),
    }.items():
        sql, params = queryset.values_list("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plans[name] = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "application_proc_mynumber_idx" in plans["mynumber"], plans
    assert "application_proc_person_idx" in plans["person"], plans
    assert "receipt_number" in plans["status"], plans
    assert all(plan.startswith("SEARCH") for plan in plans.values()), plans


@pytest.mark.django_db
def test_postgresql_analyzes_the_table_long_before_a_new_procedure_reaches_100000_rows() -> None:
    """A new procedure's rows, unknown to the statistics, are estimated at one row: the
    duplicate check may then filter all of them. The table is analyzed after 500 changed rows
    plus 0.1 % (1,500 at a million applications), not autovacuum's 10 %."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage parameter; SQLite keeps no statistics here")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [TABLE])
        [options] = cursor.fetchone()
    assert sorted(options) == [
        "autovacuum_analyze_scale_factor=0.001",
        "autovacuum_analyze_threshold=500",
    ]
