"""Publishing cases through the open-data module, national items only.

Each new case becomes one 陽性患者属性 row imported with ``opendata.services.dataset_import``
(rows are matched by No, so publishing again changes nothing): No, the body's 団体コード, the
publication date and the age band; 性別 only when the body chose to publish it. No name, birth
date, address, onset date or town is sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from madoguchi.audit.services import AuditActor
from madoguchi.opendata import services as opendata_services
from madoguchi.surveillance.models import Case, SurveillanceSetting
from madoguchi.tenants.models import Municipality

__all__ = ["cases_publish", "publication_csv"]

_SEX = {"male": "男性", "female": "女性"}
COLUMNS = ("No", "全国地方公共団体コード", "公表_年月日", "患者_年代", "患者_性別")


def publication_csv(*, municipality: Municipality, cases: Iterable[Case]) -> bytes:
    """The rows for ``cases`` of ``municipality`` in the national format (UTF-8)."""
    publish_sex = SurveillanceSetting.objects.filter(
        municipality=municipality, publish_sex=True
    ).exists()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for case in cases:
        sex = _SEX.get(str(case.health.get("sex", "")), "") if publish_sex else ""
        writer.writerow(
            (
                f"C{case.pk}",
                municipality.code,
                case.created_at.date().isoformat(),
                case.age_band,
                sex,
            )
        )
    return out.getvalue().encode("utf-8")


def cases_publish(*, municipality: Municipality, cases: Iterable[Case], actor: AuditActor) -> bool:
    """Import ``cases`` (all of ``municipality``) into its open data; False when refused."""
    own = [c for c in cases if c.municipality_id == municipality.pk]
    if not own:
        return True
    report = opendata_services.dataset_import(
        municipality=municipality,
        dataset="patients",
        data=publication_csv(municipality=municipality, cases=own),
        actor=actor,
        filename="surveillance",
    )
    return report.imported
