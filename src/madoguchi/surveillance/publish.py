"""Publishing cases through the open-data module, national items only.

Each new COVID-19 case becomes one 陽性患者属性 row imported with
``opendata.services.dataset_import`` (rows are matched by No, so publishing again changes
nothing): No, the body's 団体コード, the publication date and the age band; 性別 only when the
body chose to publish it. No name, birth date, address, onset date or town is sent. Other
diseases (麻しん) are not published in this dataset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.db import transaction

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.opendata import selectors as opendata_selectors
from madoguchi.opendata import services as opendata_services
from madoguchi.surveillance.diseases import disease_codes
from madoguchi.surveillance.models import Case, SurveillanceSetting
from madoguchi.tenants.models import Municipality

__all__ = ["cases_publish", "publication_csv", "publish_sex_set"]

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
    """Import ``cases`` (all of ``municipality``) into its open data; False when refused.

    Only cases of a disease published in the 陽性患者属性 dataset (COVID-19) are sent.
    """
    published = disease_codes(published=True)
    own = [c for c in cases if c.municipality_id == municipality.pk and c.disease in published]
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


@transaction.atomic
def publish_sex_set(
    *, municipality: Municipality, publish_sex: bool, actor: AuditActor
) -> SurveillanceSetting:
    """Switch whether 患者_性別 is published for the body's cases.

    After the switch commits, the rows already published are imported again, so switching off
    also clears the 性別 published before (rows are matched by No; nothing new is added).
    """
    setting, _created = SurveillanceSetting.objects.update_or_create(
        municipality=municipality, defaults={"publish_sex": publish_sex}
    )
    audit_event(
        municipality=municipality,
        action="surveillance.publish_sex_set",
        actor=actor,
        obj=setting,
        data={"publish_sex": publish_sex},
    )
    transaction.on_commit(lambda: _republish(municipality=municipality, actor=actor))
    return setting


def _republish(*, municipality: Municipality, actor: AuditActor) -> None:
    numbers = (str(row[0]) for row in opendata_selectors.patient_rows(municipality=municipality))
    ids = [int(n[1:]) for n in numbers if n.startswith("C") and n[1:].isdigit() and len(n) < 19]
    cases: list[Case] = []
    for start in range(0, len(ids), 500):  # keeps each IN list short on SQLite
        chunk = ids[start : start + 500]
        cases.extend(Case.objects.filter(municipality=municipality, pk__in=chunk).order_by("pk"))
    if cases:
        cases_publish(municipality=municipality, cases=cases, actor=actor)
