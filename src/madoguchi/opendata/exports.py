"""Export in exactly the national format: CSV (UTF-8, BOM by default, CRLF) and JSON.

Decisions, so that export → import → export gives the same bytes:

- columns and their order are the national definition's, whatever the imported file had;
- dates are written ``2020-01-24``, flags ``1``/``0``, unknown values as empty cells;
- lines end with CRLF (RFC 4180, and what Excel writes); quoting only where needed;
- rows are ordered by date (patients: by No, numerically where it is a number);
- ``都道府県名`` and ``市区町村名`` come from the municipality, not from the imported cells;
- text is written as stored: the importer refuses cells that a spreadsheet would run as a
  formula, so no escaping is needed and the open data stays exact.

File names follow the published convention ``{code}_{name}_covid19_{kind}.csv`` with the
name in Latin letters as published files have it (``130001_tokyo_covid19_patients.csv``):
the municipality's URL name (``281000_kobe_covid19_patients.csv``), which is ASCII and so
survives every browser, zip tool and file system.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from madoguchi.opendata import selectors
from madoguchi.opendata.formats import FORMATS
from madoguchi.opendata.models import LICENCE_URLS, Dataset, Licence
from madoguchi.tenants.models import Municipality

__all__ = [
    "PROCEDURE_COLUMNS",
    "columns_of",
    "export_csv",
    "export_filename",
    "export_json",
    "iter_csv",
    "iter_json",
    "place_names",
]

BOM = "\ufeff".encode()
PROCEDURE_COLUMNS = (
    "集計_年月日",
    "全国地方公共団体コード",
    "都道府県名",
    "市区町村名",
    "手続_コード",
    "手続_名称",
    "受付_件数",
    "完了_件数",
    "未完了_件数",
)
_ROWS_PER_CHUNK = 2000


def columns_of(dataset: str) -> tuple[str, ...]:
    if dataset == Dataset.PROCEDURE_STATS:
        return PROCEDURE_COLUMNS
    return FORMATS[dataset].names


def export_filename(municipality: Municipality, dataset: str, extension: str = "csv") -> str:
    """``281000_kobe_covid19_patients.csv``; procedure statistics: ``..._procedure_stats``."""
    if dataset == Dataset.PROCEDURE_STATS:
        return f"{municipality.code}_{municipality.slug}_{dataset}.{extension}"
    return f"{municipality.code}_{municipality.slug}_covid19_{dataset}.{extension}"


def place_names(municipality: Municipality) -> tuple[str, str]:
    """(都道府県名, 市区町村名): a prefecture leaves the second empty, as the definition says.

    A ward of a designated city is written with its city (神戸市中央区).
    """
    if municipality.is_prefecture or municipality.prefecture is None:
        return municipality.name, ""
    name = municipality.name
    parent = municipality.parent
    if parent is not None and parent.pk != municipality.prefecture_id and parent.name[-1:] == "市":
        name = parent.name + name
    return municipality.prefecture.name, name


def _date(value: datetime.date | None) -> str:
    return value.isoformat() if value is not None else ""


def _flag(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


def _rows(municipality: Municipality, dataset: str) -> Iterator[list[str]]:
    """The data rows as the strings of their cells, in the national column order."""
    place = [municipality.code, *place_names(municipality)]
    if dataset == Dataset.PATIENTS:
        for row in selectors.patient_rows(municipality=municipality):
            number, published, onset, residence, age, sex, job, state, symptoms = row[:9]
            travel, discharged, note = row[9:]
            assert isinstance(published, datetime.date)
            assert onset is None or isinstance(onset, datetime.date)
            assert travel is None or isinstance(travel, bool)
            assert discharged is None or isinstance(discharged, bool)
            yield [
                str(number),
                *place,
                _date(published),
                _date(onset),
                str(residence),
                str(age),
                str(sex),
                str(job),
                str(state),
                str(symptoms),
                _flag(travel),
                _flag(discharged),
                str(note),
            ]
    elif dataset == Dataset.PROCEDURE_STATS:
        for day, code, name, received, completed, still_open in selectors.procedure_rows(
            municipality=municipality
        ):
            yield [
                _date(day),
                *place,
                code,
                name,
                str(received),
                str(completed),
                str(still_open),
            ]
    else:
        for day, count, note in selectors.daily_rows(municipality=municipality, dataset=dataset):
            yield [_date(day), *place, str(count), note]


def _encode_rows(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def csv_file(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool
) -> tuple[bytes, str]:
    """A whole CSV file (CRLF, UTF-8, with the BOM if ``bom``) and its content type."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return (BOM if bom else b"") + buffer.getvalue().encode(), "text/csv; charset=utf-8"


def iter_csv(municipality: Municipality, dataset: str, *, bom: bool = True) -> Iterator[bytes]:
    """The CSV file in chunks (for a streaming response)."""
    yield (BOM if bom else b"") + _encode_rows([list(columns_of(dataset))])
    chunk: list[list[str]] = []
    for row in _rows(municipality, dataset):
        chunk.append(row)
        if len(chunk) >= _ROWS_PER_CHUNK:
            yield _encode_rows(chunk)
            chunk = []
    if chunk:
        yield _encode_rows(chunk)


def export_csv(municipality: Municipality, dataset: str, *, bom: bool = True) -> bytes:
    """The whole CSV file as bytes."""
    return b"".join(iter_csv(municipality, dataset, bom=bom))


_INTEGER_COLUMNS = frozenset(
    {
        "検査実施_人数",
        "検査実施_件数",
        "陰性確認_件数",
        "相談件数",
        "受付_件数",
        "完了_件数",
        "未完了_件数",
    }
)
_FLAG_COLUMNS = frozenset({"患者_渡航歴の有無フラグ", "患者_退院済フラグ"})


def _json_value(column: str, cell: str) -> Any:
    if cell == "":
        return None  # unknown, as an empty cell in the CSV
    if column in _INTEGER_COLUMNS or column in _FLAG_COLUMNS:
        return int(cell)
    return cell


def _json_head(municipality: Municipality, dataset: str) -> dict[str, Any]:
    state = selectors.publisher_state(municipality=municipality)
    updated = selectors.dataset_updates(municipality=municipality).get(dataset)
    prefecture, city = place_names(municipality)
    return {
        "dataset": dataset,
        "title": str(Dataset(dataset).label),
        "municipality": {"code": municipality.code, "prefecture": prefecture, "name": city},
        "licence": {
            "id": str(state.licence),
            "name": str(Licence(state.licence).label),
            "url": LICENCE_URLS[state.licence],
        },
        "updated": updated.isoformat() if updated else None,
        "columns": list(columns_of(dataset)),
    }


def iter_json(municipality: Municipality, dataset: str) -> Iterator[bytes]:
    """The same data as JSON: the national column names as keys, null for unknown.

    The head (titles, licence) is built when this is called, in the active language; the
    records stream as the result is iterated.
    """
    head = json.dumps(_json_head(municipality, dataset), ensure_ascii=False)
    return _json_chunks(head, columns_of(dataset), _rows(municipality, dataset))


def _json_chunks(head: str, columns: tuple[str, ...], rows: Iterator[list[str]]) -> Iterator[bytes]:
    yield (head[:-1] + ', "data": [').encode()
    separator = ""
    chunk: list[str] = []
    for row in rows:
        record = {c: _json_value(c, cell) for c, cell in zip(columns, row, strict=True)}
        chunk.append(separator + json.dumps(record, ensure_ascii=False))
        separator = ", "
        if len(chunk) >= _ROWS_PER_CHUNK:
            yield "".join(chunk).encode()
            chunk = []
    yield ("".join(chunk) + "]}\n").encode()


def export_json(municipality: Municipality, dataset: str) -> dict[str, Any]:
    """The JSON export, parsed."""
    document = json.loads(b"".join(iter_json(municipality, dataset)))
    assert isinstance(document, dict)
    return document
