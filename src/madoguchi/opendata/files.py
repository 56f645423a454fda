"""The data files a municipality offers, by their published file names.

One place for the public data-file URLs and the data-linkage API: which names exist, their
media type, the ETag of the data version and the bytes (streamed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import translation

from madoguchi.opendata import selectors
from madoguchi.opendata.catalogue import DATASETS
from madoguchi.opendata.derived import DERIVED, municipality_file
from madoguchi.opendata.exports import export_filename, iter_csv, iter_json
from madoguchi.tenants.models import Municipality

__all__ = ["DataFile", "data_file_chunks", "data_file_etag", "data_file_find", "data_file_list"]

EXTENSIONS = ("csv", "json")
_CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@dataclass(frozen=True, slots=True)
class DataFile:
    kind: str  # a dataset (Dataset value) or a derived file's kind
    extension: str  # "csv" or "json"
    filename: str

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.extension]

    @property
    def derived(self) -> bool:
        return self.kind not in DATASETS


def data_file_list(*, municipality: Municipality) -> list[DataFile]:
    """Every file offered: each dataset, then each derived file, as CSV and as JSON."""
    return [
        DataFile(kind, extension, export_filename(municipality, kind, extension))
        for kind in (*DATASETS, *DERIVED)
        for extension in EXTENSIONS
    ]


def data_file_find(*, municipality: Municipality, filename: str) -> DataFile | None:
    return next(
        (f for f in data_file_list(municipality=municipality) if f.filename == filename), None
    )


def data_file_etag(*, municipality: Municipality, file: DataFile, bom: bool) -> str:
    token = selectors.publisher_state(municipality=municipality).cache_token
    return f'"{file.kind}-{file.extension}-{int(bom)}-{token}"'


def data_file_chunks(
    *, municipality: Municipality, file: DataFile, bom: bool = True
) -> Iterator[bytes]:
    """The file's bytes in chunks (a dataset streams; a derived file is one chunk)."""
    if file.derived:
        content, _content_type = municipality_file(
            municipality=municipality, kind=file.kind, extension=file.extension, bom=bom
        )
        return iter((content,))
    if file.extension == "csv":
        return iter_csv(municipality, file.kind, bom=bom)
    with translation.override("ja"):
        return iter_json(municipality, file.kind)
