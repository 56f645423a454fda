"""The open-data catalogue: each dataset with its licence, update date and formats.

The machine-readable list follows DCAT (W3C Data Catalog Vocabulary) in JSON-LD:
a ``dcat:Catalog`` of ``dcat:Dataset`` entries, each with a CSV and a JSON
``dcat:Distribution``. Japanese text is written in Japanese whatever the visitor's language.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from madoguchi.opendata import selectors
from madoguchi.opendata.dashboard import Download, municipality_downloads
from madoguchi.opendata.models import LICENCE_URLS, NATIONAL_DATASETS, Dataset, Licence
from madoguchi.tenants.models import Municipality

__all__ = ["CatalogueEntry", "catalogue_entries", "dcat_catalog", "dcat_site_catalog"]

DATASETS: tuple[Dataset, ...] = (*NATIONAL_DATASETS, Dataset.PROCEDURE_STATS)
_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
}
_MEDIA_TYPES = {"CSV": "text/csv", "JSON": "application/json"}


def _descriptions() -> dict[str, str]:
    return {
        Dataset.PATIENTS: _(
            "公表された陽性者ごとの属性（年代、性別、居住地など）。氏名は含みません。"
        ),
        Dataset.TEST_PEOPLE: _("日ごとの検査を受けた人の数。"),
        Dataset.TEST_COUNT: _("日ごとの検査の実施件数。"),
        Dataset.CONFIRM_NEGATIVE: _("日ごとの陰性確認が完了した件数。"),
        Dataset.CALL_CENTER: _("日ごとのコールセンターの相談受付件数。"),
        Dataset.PROCEDURE_STATS: _(
            "オンライン窓口の手続きごと・日ごとの申請の受付件数、完了件数、未完了件数。"
            "個人の情報は含みません。"
        ),
    }


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    dataset: str
    title: str
    description: str
    updated_at: datetime.datetime | None
    rows: int
    downloads: tuple[Download, ...]


def catalogue_entries(*, municipality: Municipality) -> list[CatalogueEntry]:
    """Every dataset the municipality publishes, with its update date, size and downloads."""
    updates = selectors.dataset_updates(municipality=municipality)
    counts = selectors.dataset_row_counts(municipality=municipality)
    downloads = municipality_downloads(municipality)
    descriptions = _descriptions()
    return [
        CatalogueEntry(
            dataset=str(dataset),
            title=str(dataset.label),
            description=descriptions[dataset],
            updated_at=updates.get(dataset),
            rows=counts[dataset],
            downloads=downloads(dataset),
        )
        for dataset in DATASETS
    ]


def _publisher(municipality: Municipality) -> dict[str, str]:
    return {
        "@type": "foaf:Organization",
        "foaf:name": municipality.name,
        "dct:identifier": municipality.code,
    }


def _datasets(
    municipality: Municipality, licence: Licence, absolute: Callable[[str], str]
) -> list[dict[str, Any]]:
    landing = absolute(
        reverse("opendata:catalogue", kwargs={"municipality_slug": municipality.slug})
    )
    licence_url = LICENCE_URLS[licence]
    datasets = []
    for entry in catalogue_entries(municipality=municipality):
        stem = entry.downloads[0].filename.rsplit(".", 1)[0]
        datasets.append(
            {
                "@type": "dcat:Dataset",
                "@id": f"{landing}#{entry.dataset}",
                "dct:identifier": stem,
                "dct:title": f"{municipality.name} {entry.title}",
                "dct:description": entry.description,
                "dct:publisher": _publisher(municipality),
                "dct:license": licence_url,
                "dct:language": "ja",
                "dct:modified": entry.updated_at.isoformat() if entry.updated_at else None,
                "dcat:landingPage": landing,
                "dcat:keyword": ["新型コロナウイルス感染症", "オープンデータ", municipality.name]
                if entry.dataset != Dataset.PROCEDURE_STATS
                else ["行政手続", "オープンデータ", municipality.name],
                "dcat:distribution": [
                    {
                        "@type": "dcat:Distribution",
                        "dct:title": d.filename,
                        "dcat:downloadURL": absolute(d.url),
                        "dcat:mediaType": _MEDIA_TYPES[d.format],
                        "dct:format": d.format,
                        "dct:license": licence_url,
                    }
                    for d in entry.downloads
                ],
            }
        )
    return datasets


def dcat_catalog(*, municipality: Municipality, absolute: Callable[[str], str]) -> dict[str, Any]:
    """The municipality's catalogue as a DCAT JSON-LD document."""
    state = selectors.publisher_state(municipality=municipality)
    url = reverse("opendata:catalogue-json", kwargs={"municipality_slug": municipality.slug})
    return {
        "@context": _CONTEXT,
        "@type": "dcat:Catalog",
        "@id": absolute(url),
        "dct:title": f"{municipality.name} オープンデータ",
        "dct:publisher": _publisher(municipality),
        "dct:license": LICENCE_URLS[state.licence],
        "dct:modified": state.updated_at.isoformat() if state.updated_at else None,
        "dcat:dataset": _datasets(municipality, state.licence, absolute),
    }


def dcat_site_catalog(
    *, municipalities: Sequence[Municipality], absolute: Callable[[str], str]
) -> dict[str, Any]:
    """Every served municipality's datasets in one catalogue (each with its own licence)."""
    states = selectors.publisher_states(municipalities=municipalities)
    datasets: list[dict[str, Any]] = []
    for municipality in municipalities:
        datasets.extend(_datasets(municipality, states[municipality.pk].licence, absolute))
    return {
        "@context": _CONTEXT,
        "@type": "dcat:Catalog",
        "@id": absolute(reverse("opendata-site-catalogue")),
        "dct:title": "madoguchi オープンデータ",
        "dcat:dataset": datasets,
    }
