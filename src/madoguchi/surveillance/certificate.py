"""療養証明書 (certificate of the period of 療養 and 就業制限) as a PDF.

Issued by the case's health centre once the observation period is over, and only for a disease
whose registry entry says so (COVID-19): the certificate states a period of 就業制限 (感染症法
第18条), which does not apply to a 5類感染症 such as 麻しん. The text names the case's disease
from the registry. The PDF uses one of
the Japanese CID fonts every PDF reader carries (Adobe-Japan1), so no font file is shipped and
the text stays searchable. The certificate is an official document and is always written in
Japanese, whatever language the page is shown in.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from madoguchi.audit.services import AuditActor, audit_access, audit_event
from madoguchi.core.checkdigits import damm_check_digit
from madoguchi.core.wareki import format_wareki
from madoguchi.surveillance.casework import CareSetting
from madoguchi.surveillance.diseases import DISEASES
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, CaseStatus, Certificate

__all__ = [
    "ACCESS_PURPOSE",
    "IssuedCertificate",
    "certificate_issue",
    "certificate_refusal",
    "render_certificate_pdf",
]

ACCESS_PURPOSE = "療養証明書の発行"
FONT = "HeiseiMin-W3"


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    certificate: Certificate
    pdf: bytes

    @property
    def filename(self) -> str:
        return f"ryoyo-shomei-{self.certificate.number}.pdf"


def certificate_refusal(*, case: Case, today: datetime.date) -> SurveillanceError | None:
    """Why no certificate can be issued for ``case`` today, or None when it can.

    Allowed once the last day of observation has passed, or when the case was ended; never
    for a disease without the certificate.
    """
    disease = DISEASES[case.disease]
    if not disease.certificate:
        return SurveillanceError(
            ErrorCode.NOT_FOR_DISEASE,
            _("%(disease)sは就業制限の対象ではないため、療養証明書は発行しません。")
            % {"disease": disease.name},
        )
    if case.status == CaseStatus.DIED:
        return SurveillanceError(
            ErrorCode.STILL_OBSERVING,
            _("死亡の届出がある方の療養証明書は発行できません。"),
        )
    if case.status == CaseStatus.ENDED or case.observation_end < today:
        return None
    return SurveillanceError(
        ErrorCode.STILL_OBSERVING,
        _("療養期間（%(end)s まで）が終わっていないため、療養証明書はまだ発行できません。")
        % {"end": case.observation_end.isoformat()},
    )


def _number(case: Case) -> str:
    """``<case, 8 digits>-<issue, 2 digits>-<Damm check digit>``, e.g. 00000012-01-7."""
    sequence = Certificate.objects.filter(case=case).count() + 1
    case_part, issue_part = f"{case.pk:08d}", f"{sequence:02d}"
    return f"{case_part}-{issue_part}-{damm_check_digit(case_part + issue_part)}"


@transaction.atomic
def certificate_issue(*, case: Case, actor: AuditActor, today: datetime.date) -> IssuedCertificate:
    """Issue a 療養証明書 for ``case``: number it, log the access and the issue, render the PDF.

    Refused (:class:`SurveillanceError`, nothing stored or logged) while the case is still
    under observation.
    """
    case = Case.objects.select_for_update().select_related("health_centre").get(pk=case.pk)
    refusal = certificate_refusal(case=case, today=today)
    if refusal is not None:
        raise refusal
    certificate = Certificate.objects.create(
        municipality_id=case.municipality_id,
        case=case,
        number=_number(case),
        issued_on=today,
        period_from=case.day_zero,
        period_to=case.observation_end,
        issued_by=actor.user,
    )
    audit_access(
        municipality=case.municipality,
        actor=actor,
        purpose=ACCESS_PURPOSE,
        obj=case,
        action="certificate",
    )
    audit_event(
        municipality=case.municipality,
        action="surveillance.certificate_issued",
        actor=actor,
        obj=certificate,
        data={"case": case.pk, "number": certificate.number},
    )
    return IssuedCertificate(
        certificate, render_certificate_pdf(case=case, certificate=certificate)
    )


def _both(day: datetime.date) -> str:
    return f"{format_wareki(day)}（{day.isoformat()}）"


def _care(case: Case) -> str:
    setting = str(case.health.get("care_setting") or "")
    if setting not in CareSetting.values:
        return "—"
    label = str(CareSetting(setting).label)
    care_from = case.health.get("care_from")
    return f"{label}（{care_from} から）" if care_from else label


class _JapaneseFont(UnicodeCIDFont):
    """The CID font, declared with the UTF-16 CMap that matches the text it writes.

    reportlab writes UTF-16 but declares the UCS-2 CMap, under which a character outside the
    BMP (the 𠮷 of 𠮷田) is lost or garbles its neighbour; a name must print as registered.
    """

    def __init__(self, face: str) -> None:
        super().__init__(face)
        self.encodingName = "UniJIS-UTF16-H"


def render_certificate_pdf(*, case: Case, certificate: Certificate) -> bytes:
    """The certificate as an A4 PDF in Japanese."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(_JapaneseFont(FONT))
    with translation.override("ja"):
        care = _care(case)
        disease = str(DISEASES[case.disease].name)
    rows = [
        ("証明書番号", certificate.number),
        ("氏名", f"{case.name}（{case.name_kana}）"),
        ("生年月日", _both(case.birth_date)),
        ("療養期間", f"{_both(certificate.period_from)} から"),
        ("", f"{_both(certificate.period_to)} まで"),
        ("療養先", care),
    ]
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle("療養証明書")
    width, height = A4
    pdf.setFont(FONT, 20)
    pdf.drawCentredString(width / 2, height - 40 * mm, "療養証明書")
    pdf.setFont(FONT, 12)
    pdf.drawCentredString(width / 2, height - 48 * mm, "（就業制限の期間の証明）")
    y = height - 70 * mm
    for label, value in rows:
        pdf.drawString(30 * mm, y, label)
        pdf.drawString(65 * mm, y, value)
        y -= 10 * mm
    y -= 6 * mm
    for line in (
        f"上記の者は、{disease}の患者として、上記の期間、感染症の予防及び",
        "感染症の患者に対する医療に関する法律に基づき療養していたこと",
        "（就業制限の対象であったこと）を証明します。",
    ):
        pdf.drawString(30 * mm, y, line)
        y -= 8 * mm
    y -= 12 * mm
    pdf.drawString(30 * mm, y, f"発行日 {_both(certificate.issued_on)}")
    y -= 16 * mm
    pdf.drawString(110 * mm, y, case.municipality.name)
    pdf.setFont(FONT, 14)
    pdf.drawString(110 * mm, y - 9 * mm, case.health_centre.name)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
