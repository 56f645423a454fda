"""Writing open data: imports, procedure statistics, the licence, and the data version.

Every change to a municipality's records goes through here and bumps its
:class:`~madoguchi.opendata.models.Publisher` version in the same transaction, which is what
the dashboard cache is keyed by.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.opendata.formats import FORMATS, DatasetFormat
from madoguchi.opendata.models import (
    DailyCount,
    Dataset,
    DatasetUpdate,
    Licence,
    PatientRecord,
    ProcedureDailyStat,
    Publisher,
)
from madoguchi.opendata.reader import ParsedRow, read_dataset_file
from madoguchi.opendata.report import Folding, ImportMode, ImportReport
from madoguchi.procedures import selectors as procedure_selectors
from madoguchi.tenants.models import Municipality

__all__ = [
    "ImportMode",
    "ImportReport",
    "dataset_import",
    "procedure_stats_refresh",
    "publisher_licence_set",
]

PATIENT_FIELDS = (
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
_BATCH = 2000


def _publisher_locked(municipality: Municipality) -> Publisher:
    """The municipality's Publisher row, locked: writers of one municipality queue here."""
    Publisher.objects.get_or_create(municipality=municipality)
    return Publisher.objects.select_for_update().get(municipality=municipality)


def _touch(municipality: Municipality, datasets: Iterable[str]) -> None:
    """Bump the data version (all caches of this municipality go stale) and the 更新日."""
    now = timezone.now()
    Publisher.objects.filter(municipality=municipality).update(
        version=F("version") + 1, updated_at=now
    )
    for dataset in datasets:
        DatasetUpdate.objects.update_or_create(
            municipality=municipality, dataset=dataset, defaults={"updated_at": now}
        )


def _upsert_daily(
    municipality: Municipality, dataset: str, rows: Sequence[ParsedRow]
) -> tuple[int, int, int]:
    existing = {
        d.date: d for d in DailyCount.objects.filter(municipality=municipality, kind=dataset)
    }
    new: list[DailyCount] = []
    changed: list[DailyCount] = []
    for row in rows:
        day, count, note = row.values["date"], row.values["count"], row.values["note"]
        assert isinstance(day, datetime.date)
        assert isinstance(count, int)
        assert isinstance(note, str)
        record = existing.get(day)
        if record is None:
            new.append(
                DailyCount(
                    municipality=municipality, kind=dataset, date=day, count=count, note=note
                )
            )
        elif (record.count, record.note) != (count, note):
            record.count, record.note = count, note
            changed.append(record)
    DailyCount.objects.bulk_create(new, batch_size=_BATCH)
    DailyCount.objects.bulk_update(changed, ["count", "note"], batch_size=_BATCH)
    return len(new), len(changed), len(rows) - len(new) - len(changed)


def _upsert_patients(municipality: Municipality, rows: Sequence[ParsedRow]) -> tuple[int, int, int]:
    existing = {
        values[0]: values[1:]
        for values in PatientRecord.objects.filter(municipality=municipality).values_list(
            "number", "pk", *PATIENT_FIELDS
        )
    }
    new: list[PatientRecord] = []
    changed: list[PatientRecord] = []
    for row in rows:
        number = row.values["number"]
        assert isinstance(number, str)
        fields: dict[str, Any] = {name: row.values[name] for name in PATIENT_FIELDS}
        found = existing.get(number)
        if found is None:
            new.append(PatientRecord(municipality=municipality, number=number, **fields))
        elif tuple(found[1:]) != tuple(fields.values()):
            changed.append(
                PatientRecord(pk=found[0], municipality=municipality, number=number, **fields)
            )
    PatientRecord.objects.bulk_create(new, batch_size=_BATCH)
    PatientRecord.objects.bulk_update(changed, list(PATIENT_FIELDS), batch_size=_BATCH)
    return len(new), len(changed), len(rows) - len(new) - len(changed)


def dataset_import(
    *,
    municipality: Municipality,
    dataset: str,
    data: bytes,
    mode: ImportMode = ImportMode.ALL_OR_NOTHING,
    actor: AuditActor,
    filename: str = "",
) -> ImportReport:
    """Import a CSV file of a national dataset into ``municipality``'s records.

    The file is checked completely before anything is written. A file-level problem (encoding,
    missing required columns, ...) refuses it in any mode; a bad row refuses it in
    all-or-nothing mode and is skipped (and listed) in good-rows mode. Rows are matched by
    their natural key (the date, or No for patients): a new key adds a record, a known one
    updates it when different, so importing the same file twice changes nothing. Every attempt
    is written to the audit log with its counts.
    """
    fmt = FORMATS[dataset]
    parsed = read_dataset_file(data, fmt, municipality)
    accept = not parsed.file_problems and (mode is ImportMode.GOOD_ROWS or not parsed.row_problems)
    counts = (0, 0, 0)
    if accept:
        with transaction.atomic():
            _publisher_locked(municipality)
            if dataset == Dataset.PATIENTS:
                counts = _upsert_patients(municipality, parsed.rows)
            else:
                counts = _upsert_daily(municipality, dataset, parsed.rows)
            if counts[0] + counts[1]:
                _touch(municipality, [dataset])
    report = ImportReport(
        dataset=dataset,
        mode=mode,
        encoding=parsed.encoding,
        columns=parsed.columns,
        renamed_columns=parsed.renamed_columns,
        unknown_columns=parsed.unknown_columns,
        ignored_columns=parsed.ignored_columns,
        file_problems=tuple(parsed.file_problems),
        row_problems=tuple(parsed.row_problems),
        rows_read=parsed.rows_read,
        skipped_lines=tuple(parsed.bad_lines),
        created=counts[0],
        updated=counts[1],
        unchanged=counts[2],
        imported=accept,
        foldings=_foldings(fmt, parsed.foldings),
    )
    summary = report.as_dict()
    # Counts only: the messages quote cell values, and a large file's list is long.
    summary["problems"] = len(report.problems)
    summary["foldings"] = sum(f.count for f in report.foldings)
    summary["skipped_lines"] = summary["skipped_lines"][:50]
    summary["skipped"] = len(report.skipped_lines)
    audit_event(
        municipality=municipality,
        action="opendata.import",
        actor=actor,
        object_type="opendata.dataset",
        object_id=dataset,
        data={**summary, "filename": filename[:200], "sha256": hashlib.sha256(data).hexdigest()},
    )
    return report


def _foldings(fmt: DatasetFormat, found: dict[tuple[str, str, str], int]) -> tuple[Folding, ...]:
    """The foldings by column in the national order, each column's in the order first seen."""
    order = {name: index for index, name in enumerate(fmt.names)}
    keys = sorted(found, key=lambda k: order.get(k[0], len(order)))  # stable: first seen next
    return tuple(Folding(*key, found[key]) for key in keys)


@transaction.atomic
def publisher_licence_set(*, municipality: Municipality, licence: str, actor: AuditActor) -> bool:
    """Publish ``municipality``'s open data under ``licence`` (a Licence value).

    Returns whether anything changed; a change bumps the data version, as the dashboard and
    the catalogue show the licence.
    """
    licence = Licence(licence)
    publisher = _publisher_locked(municipality)
    if publisher.licence == licence:
        return False
    Publisher.objects.filter(pk=publisher.pk).update(licence=licence)
    _touch(municipality, [])
    audit_event(
        municipality=municipality,
        action="opendata.licence",
        actor=actor,
        obj=publisher,
        data={"from": publisher.licence, "to": str(licence)},
    )
    return True


def _procedure_names(municipality: Municipality) -> dict[str, str]:
    return {
        p.code: procedure_selectors.definition_of(p.current_version).name_ja
        for p in procedure_selectors.procedure_list_published(municipality=municipality)
        if p.current_version is not None
    }


@transaction.atomic
def procedure_stats_refresh(
    *, municipality: Municipality, today: datetime.date | None = None
) -> int:
    """Recompute the procedure statistics from the procedures app; return the rows changed.

    For each procedure: applications received and completed per day and those still open at
    the end of each day, from its first application to ``today`` (the local date by default).
    Counts only; nothing personal is read or stored. Unchanged statistics leave the data
    version alone, so running this every few minutes costs no cache.
    """
    today = today or timezone.localdate()
    daily = procedure_selectors.application_daily_counts(municipality=municipality)
    names = _procedure_names(municipality)
    by_procedure: dict[str, dict[datetime.date, tuple[int, int]]] = {}
    for code, day, received, completed in daily:
        by_procedure.setdefault(code, {})[day] = (received, completed)
    wanted: dict[tuple[str, datetime.date], tuple[str, int, int, int]] = {}
    for code, days in by_procedure.items():
        day, last, still_open = min(days), max(max(days), today), 0
        while day <= last:
            received, completed = days.get(day, (0, 0))
            still_open += received - completed
            wanted[(code, day)] = (names.get(code, code), received, completed, still_open)
            day += datetime.timedelta(days=1)
    _publisher_locked(municipality)
    existing = {
        (s.procedure_code, s.date): s
        for s in ProcedureDailyStat.objects.filter(municipality=municipality)
    }
    new, changed = [], []
    for (code, day), (name, received, completed, still_open) in wanted.items():
        stat = existing.pop((code, day), None)
        values = (name, received, completed, still_open)
        if stat is None:
            new.append(
                ProcedureDailyStat(
                    municipality=municipality,
                    procedure_code=code,
                    procedure_name=name,
                    date=day,
                    received=received,
                    completed=completed,
                    open=still_open,
                )
            )
        elif (stat.procedure_name, stat.received, stat.completed, stat.open) != values:
            stat.procedure_name, stat.received, stat.completed, stat.open = values
            changed.append(stat)
    ProcedureDailyStat.objects.bulk_create(new, batch_size=_BATCH)
    ProcedureDailyStat.objects.bulk_update(
        changed, ["procedure_name", "received", "completed", "open"], batch_size=_BATCH
    )
    ProcedureDailyStat.objects.filter(pk__in=[s.pk for s in existing.values()]).delete()
    total = len(new) + len(changed) + len(existing)
    if total:
        _touch(municipality, [Dataset.PROCEDURE_STATS])
    return total
