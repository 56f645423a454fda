"""What a dashboard card holds: a chart, the same numbers as a table, and its downloads."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from madoguchi.opendata.charts import Chart

if TYPE_CHECKING:
    from madoguchi.opendata.agesex import Pyramid

__all__ = ["Card", "Download", "TableRow"]


@dataclass(frozen=True, slots=True)
class TableRow:
    day: datetime.date
    label: str
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Download:
    format: str  # "CSV" or "JSON"
    url: str
    filename: str


@dataclass(frozen=True, slots=True)
class Card:
    key: str
    title: str
    lead: str
    figures: tuple[tuple[str, str], ...]
    chart: Chart | None
    table_caption: str
    table_headers: tuple[str, ...]
    rows: tuple[TableRow, ...]
    downloads: tuple[Download, ...]
    extra_headers: tuple[str, ...] = ()
    extra_rows: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    empty: str = ""  # why there is no chart
    pyramid: Pyramid | None = None  # the chart of the cases by age and sex
    extra_caption: str = ""  # the caption of the table of extra_rows, always shown
