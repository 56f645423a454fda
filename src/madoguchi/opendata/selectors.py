"""Reading open data: records for export, aggregates for the dashboard, versions for caches.

Every function takes the municipality (or, for the prefecture view, the explicit list of
municipalities) and never returns another municipality's rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Max, Sum
from django.db.models.functions import Length

from madoguchi.opendata.models import (
    DailyCount,
    Dataset,
    DatasetUpdate,
    Licence,
    PatientRecord,
    ProcedureDailyStat,
    Publisher,
)
from madoguchi.tenants.models import Municipality

__all__ = [
    "DailyTotals",
    "ProcedureTotal",
    "PublisherState",
    "daily_counts",
    "daily_rows",
    "dashboard_page_token",
    "dataset_row_counts",
    "dataset_updates",
    "has_published_data",
    "patient_counts_by_age",
    "patient_counts_by_age_and_sex",
    "patient_counts_by_day",
    "patient_rows",
    "prefecture_members",
    "procedure_daily_totals",
    "procedure_rows",
    "procedure_totals",
    "publisher_state",
    "publisher_states",
]

_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class PublisherState:
    """A municipality's licence and data version (defaults when it never published)."""

    licence: Licence
    version: int
    updated_at: datetime.datetime | None

    @property
    def cache_token(self) -> str:
        stamp = self.updated_at.timestamp() if self.updated_at else 0
        return f"{self.version}-{stamp:.6f}"


_NEVER = PublisherState(Licence.CC_BY_4_0, 0, None)


def publisher_state(*, municipality: Municipality) -> PublisherState:
    """The licence and data version: one indexed query, cheap enough for every request."""
    row = (
        Publisher.objects.filter(municipality=municipality)
        .values_list("licence", "version", "updated_at")
        .first()
    )
    return _NEVER if row is None else PublisherState(Licence(row[0]), row[1], row[2])


def dashboard_page_token(*, slug: str) -> tuple[int, str] | None:
    """(primary key, cache token) of the served municipality at ``/<slug>/``, or None.

    The token changes with the data version and with what the page header shows (the names
    of the municipality and its prefecture). This is the only query of a cached dashboard
    request, so it is one plain SQL statement: building it through the ORM costs more than
    running it.
    """
    municipalities = Municipality._meta.db_table
    publishers = Publisher._meta.db_table
    sql = (
        f"SELECT m.id, m.name, p2.name, pub.version, pub.updated_at FROM {municipalities} m"  # noqa: S608 - table names from the models, the value is a parameter
        f" LEFT JOIN {municipalities} p2 ON p2.id = m.prefecture_id"
        f" LEFT JOIN {publishers} pub ON pub.municipality_id = m.id"
        " WHERE m.slug = %s AND m.is_active"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [slug])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, name, prefecture, version, updated_at = row
    return pk, f"{version or 0}-{updated_at}-{name}-{prefecture or ''}"


def publisher_states(*, municipalities: Sequence[Municipality]) -> dict[int, PublisherState]:
    """The same for several municipalities at once (by primary key), in one query."""
    states = dict.fromkeys((m.pk for m in municipalities), _NEVER)
    for pk, licence, version, updated_at in Publisher.objects.filter(
        municipality__in=municipalities
    ).values_list("municipality_id", "licence", "version", "updated_at"):
        states[pk] = PublisherState(Licence(licence), version, updated_at)
    return states


def dataset_updates(*, municipality: Municipality) -> dict[str, datetime.datetime]:
    """When each dataset last changed (datasets never changed are absent)."""
    return dict(
        DatasetUpdate.objects.filter(municipality=municipality).values_list("dataset", "updated_at")
    )


def has_published_data(*, municipality: Municipality) -> bool:
    """Whether any dataset of the municipality holds a record (the dashboard has something)."""
    return any(dataset_row_counts(municipality=municipality).values())


def dataset_row_counts(*, municipality: Municipality) -> dict[str, int]:
    """How many records each dataset holds (rows of its CSV)."""
    counts = {str(d): 0 for d in Dataset}
    counts[Dataset.PATIENTS] = PatientRecord.objects.filter(municipality=municipality).count()
    for kind, n in (
        DailyCount.objects.filter(municipality=municipality)
        .values_list("kind")
        .annotate(n=Count("id"))
    ):
        counts[kind] = n
    counts[Dataset.PROCEDURE_STATS] = ProcedureDailyStat.objects.filter(
        municipality=municipality
    ).count()
    return counts


# --- aggregates for the dashboard -------------------------------------------------------------


def patient_counts_by_day(
    *, municipalities: Sequence[Municipality]
) -> list[tuple[datetime.date, int]]:
    """New cases per 公表_年月日, summed over ``municipalities`` (days with none are absent)."""
    rows = (
        PatientRecord.objects.filter(municipality__in=municipalities)
        .values_list("published_on")
        .annotate(n=Count("*"))
        .order_by("published_on")
    )
    return [(day, n) for day, n in rows]


def patient_counts_by_age(*, municipalities: Sequence[Municipality]) -> dict[str, int]:
    """Cases per 患者_年代 ("" for unknown), summed over ``municipalities``."""
    rows = (
        PatientRecord.objects.filter(municipality__in=municipalities)
        .values_list("age_group")
        .annotate(n=Count("*"))
        .order_by()
    )
    return dict(rows)


def patient_counts_by_age_and_sex(
    *, municipalities: Sequence[Municipality]
) -> dict[tuple[str, str], int]:
    """Cases per (患者_年代, 患者_性別) ("" for unknown), summed over ``municipalities``."""
    rows = (
        PatientRecord.objects.filter(municipality__in=municipalities)
        .values_list("age_group", "sex")
        .annotate(n=Count("*"))
        .order_by()
    )
    return {(age, sex): n for age, sex, n in rows}


def daily_counts(
    *, municipalities: Sequence[Municipality], dataset: str
) -> list[tuple[datetime.date, int]]:
    """A daily dataset's counts by date, summed over ``municipalities``."""
    rows = (
        DailyCount.objects.filter(municipality__in=municipalities, kind=dataset)
        .values_list("date")
        .annotate(n=Sum("count"))
        .order_by("date")
    )
    return [(day, n) for day, n in rows]


@dataclass(frozen=True, slots=True)
class DailyTotals:
    day: datetime.date
    received: int
    completed: int
    open: int


def procedure_daily_totals(*, municipality: Municipality) -> list[DailyTotals]:
    """Applications received, completed and open per day, all procedures together."""
    rows = (
        ProcedureDailyStat.objects.filter(municipality=municipality)
        .values_list("date")
        .annotate(r=Sum("received"), c=Sum("completed"), o=Sum("open"))
        .order_by("date")
    )
    return [DailyTotals(day, r, c, o) for day, r, c, o in rows]


@dataclass(frozen=True, slots=True)
class ProcedureTotal:
    code: str
    name: str
    received: int
    completed: int
    open: int  # at the end of the last day


def procedure_totals(*, municipality: Municipality) -> list[ProcedureTotal]:
    """Per procedure: everything received and completed, and what is open now."""
    stats = ProcedureDailyStat.objects.filter(municipality=municipality)
    latest = dict(stats.values_list("procedure_code").annotate(last=Max("date")))
    open_now = {
        code: n
        for code, day, n in stats.values_list("procedure_code", "date", "open")
        if latest.get(code) == day
    }
    return [
        ProcedureTotal(code, name, r, c, open_now.get(code, 0))
        for code, name, r, c in stats.values_list("procedure_code", "procedure_name")
        .annotate(r=Sum("received"), c=Sum("completed"))
        .order_by("procedure_code")
    ]


def prefecture_members(*, prefecture: Municipality) -> list[Municipality]:
    """The served municipalities whose prefecture is ``prefecture``, in code order."""
    return list(
        Municipality.objects.filter(prefecture=prefecture, is_active=True)
        .select_related("prefecture", "parent")
        .order_by("code")
    )


# --- records for export ----------------------------------------------------------------------


def patient_rows(*, municipality: Municipality) -> Iterator[tuple[object, ...]]:
    """Every patient record as (No, 公表, 発症, 居住地, 年代, 性別, 職業, 状態, 症状, 渡航, 退院,
    備考), ordered by No as a number where it is one (by length, then text)."""
    return (
        PatientRecord.objects.filter(municipality=municipality)
        .order_by(Length("number"), "number")
        .values_list(
            "number",
            "published_on",
            "onset_on",
            "residence",
            "age_group",
            "sex",
            "occupation",
            "condition",
            "symptoms",
            "travel_history",
            "discharged",
            "note",
        )
        .iterator(chunk_size=_CHUNK)
    )


def daily_rows(
    *, municipality: Municipality, dataset: str
) -> Iterator[tuple[datetime.date, int, str]]:
    """(date, count, 備考) of a daily dataset in date order."""
    return (
        DailyCount.objects.filter(municipality=municipality, kind=dataset)
        .order_by("date")
        .values_list("date", "count", "note")
        .iterator(chunk_size=_CHUNK)
    )


def procedure_rows(
    *, municipality: Municipality
) -> Iterator[tuple[datetime.date, str, str, int, int, int]]:
    """(date, code, name, received, completed, open) by procedure code, then date."""
    return (
        ProcedureDailyStat.objects.filter(municipality=municipality)
        .order_by("procedure_code", "date")
        .values_list("date", "procedure_code", "procedure_name", "received", "completed", "open")
        .iterator(chunk_size=_CHUNK)
    )
