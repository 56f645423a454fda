"""受付票 (receipt slips): a printed receipt number and a fresh lookup secret for each applicant.

Residents who apply on paper never see the lookup secret an online applicant gets on screen
and by e-mail, so they cannot follow their application on the status page. A slip issues a
new secret, replaces the stored keyed hash (the previous secret stops working) and prints it
once, in a PDF made in the request: the secret is never stored in clear, logged, queued or put
in a URL. The parts of a one-stop bundle share one secret, as online, so they share one page.

The slip carries no answers. The applicant's name (when the procedure names one) is printed
where the window of a 長形3号 window envelope shows it, so that the slips of a batch reach the
right person; the address is not printed. The slip is an official document and is always
written in Japanese, whatever language the console is shown in.

The PDF uses one of the Japanese CID fonts every PDF reader carries (Adobe-Japan1), so no
font file is shipped and the text stays searchable.
"""

from __future__ import annotations

import datetime
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.models import EntryKind
from madoguchi.audit.selectors import audit_entries_for_municipality
from madoguchi.audit.services import audit_access, audit_event
from madoguchi.core.wareki import format_wareki
from madoguchi.procedures.models import Application, Channel
from madoguchi.procedures.receipts import (
    lookup_secret_display,
    lookup_secret_hash,
    lookup_secret_new,
    receipt_number_display,
)
from madoguchi.procedures.selectors import definition_of
from madoguchi.tenants.models import Department, Municipality, Role

__all__ = [
    "ACCESS_PURPOSE",
    "BATCH_LIMIT",
    "EVENT",
    "HANDLING_ROLES",
    "IssuedSlips",
    "Slip",
    "SlipErrorCode",
    "SlipPart",
    "SlipRefused",
    "render_slips_pdf",
    "slip_candidates",
    "slips_issue",
]

ACCESS_PURPOSE = "受付票の発行（確認コードの発行）"
EVENT = "procedures.slip_issued"
FONT = "HeiseiKakuGo-W5"
HANDLING_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CLERK})
# One request renders the whole batch; a larger day is printed procedure by procedure.
BATCH_LIMIT = 300


class SlipErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    ROLE = "role_not_allowed"
    EMPTY = "empty"
    TOO_MANY = "too_many"


class SlipRefused(Exception):  # noqa: N818 - an outcome the caller shows, not a bug
    def __init__(self, code: SlipErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class SlipPart:
    """One application on a slip (a bundle has several)."""

    receipt_number: str
    procedure_name: str
    department_name: str
    submitted_on: datetime.date
    expected_completion: datetime.date | None  # None once final, as on the status page


@dataclass(frozen=True, slots=True)
class Slip:
    """What one printed page says."""

    municipality_name: str
    addressee: str  # the applicant's name, or "" when the procedure names none
    parts: tuple[SlipPart, ...]
    status_url: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class IssuedSlips:
    pdf: bytes = field(repr=False)
    application_ids: tuple[int, ...]
    pages: int
    filename: str


def _departments_handled(staff: StaffContext) -> list[Department] | None:
    """Departments where ``staff`` may handle applications; None means every department."""
    if any(m.department_id is None and m.role in HANDLING_ROLES for m in staff.memberships):
        return None
    return [
        m.department
        for m in staff.memberships
        if m.department is not None and m.role in HANDLING_ROLES
    ]


def slip_candidates(
    *,
    municipality: Municipality,
    staff: StaffContext,
    day: datetime.date,
    procedure_code: str = "",
    include_issued: bool = False,
) -> list[int]:
    """Paper applications received on ``day`` that ``staff`` may print slips for, by id.

    Applications that already had a slip are left out unless ``include_issued``: printing
    them again would make the codes on the slips already sent stop working.
    """
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
    found = Application.objects.filter(
        municipality=municipality,
        channel=Channel.PAPER,
        submitted_at__gte=start,
        submitted_at__lt=start + datetime.timedelta(days=1),
    )
    departments = _departments_handled(staff)
    if departments is not None:
        found = found.filter(department__in=departments)
    if procedure_code:
        found = found.filter(procedure__code=procedure_code)
    ids = list(found.order_by("submitted_at", "pk").values_list("pk", flat=True))
    if include_issued or not ids:
        return ids
    issued = {
        int(object_id)
        for object_id in audit_entries_for_municipality(
            municipality=municipality,
            kind=EntryKind.EVENT,
            action=EVENT,
            object_type="procedures.application",
        )
        .filter(object_id__in=[str(i) for i in ids])
        .values_list("object_id", flat=True)
    }
    return [i for i in ids if i not in issued]


def _status_url(municipality: Municipality, receipt_number: str) -> str:
    # The receipt number only fills in the form; the secret is typed by the resident.
    return f"{settings.MADOGUCHI_SITE_URL}/{municipality.slug}/status/?receipt={receipt_number}"


def _part(application: Application) -> SlipPart:
    definition = definition_of(application.version)
    state = definition.states.get(application.state)
    final = state is not None and state.final
    return SlipPart(
        receipt_number=application.receipt_number,
        procedure_name=definition.name_ja,
        department_name=application.department.name,
        submitted_on=timezone.localdate(application.submitted_at),
        expected_completion=None if final else application.due_date,
    )


def _addressee(parts: Sequence[Application]) -> str:
    for application in parts:
        key = definition_of(application.version).identity.name
        name = (application.answers or {}).get(key) if key else None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return ""


@transaction.atomic
def slips_issue(
    *, municipality: Municipality, staff: StaffContext, application_ids: Sequence[int]
) -> IssuedSlips:
    """Issue a fresh lookup secret for each application and print them as one PDF.

    ``staff`` must hold an admin, supervisor or clerk role for every application's department
    (viewers may not). The parts of a one-stop bundle get one shared secret and one page,
    whichever part was asked for. Each application gets an access entry (the resident sees
    it on the status page) and a ``procedures.slip_issued`` event, ids only. The PDF is
    rendered before the transaction commits, so a failure leaves every old secret working.
    Raises :class:`SlipRefused` (nothing changed) for unknown or foreign ids and for a role
    that may not handle an application.
    """
    wanted = list(dict.fromkeys(application_ids))
    if not wanted:
        raise SlipRefused(SlipErrorCode.EMPTY, _("受付票を印刷する申請がありません。"))
    if len(wanted) > BATCH_LIMIT:
        raise SlipRefused(
            SlipErrorCode.TOO_MANY,
            _("一度に印刷できる受付票は%(limit)d件までです。手続きで絞り込んでください。")
            % {"limit": BATCH_LIMIT},
        )
    locked = {
        a.pk: a
        for a in Application.objects.select_for_update(of=("self",))
        .filter(municipality=municipality, pk__in=wanted)
        .select_related("department", "version")
    }
    if len(locked) != len(wanted):
        raise SlipRefused(SlipErrorCode.NOT_FOUND, _("申請が見つかりません。"))
    for application in locked.values():
        if not staff.roles(application.department) & HANDLING_ROLES:
            raise SlipRefused(
                SlipErrorCode.ROLE,
                _("あなたの役割（%(department)s）では受付票を印刷できません。")
                % {"department": application.department.name},
            )
    bundles = {a.bundle for a in locked.values() if a.bundle is not None}
    siblings: dict[uuid.UUID, list[Application]] = {}
    if bundles:
        for part in (
            Application.objects.select_for_update(of=("self",))
            .filter(municipality=municipality, bundle__in=bundles)
            .select_related("department", "version")
            .order_by("pk")
        ):
            assert part.bundle is not None
            siblings.setdefault(part.bundle, []).append(part)
    pages: list[list[Application]] = []
    seen: set[uuid.UUID] = set()
    for pk in wanted:
        application = locked[pk]
        if application.bundle is None:
            pages.append([application])
        elif application.bundle not in seen:
            seen.add(application.bundle)
            pages.append(siblings[application.bundle])
    slips = [_issue_page(municipality, staff, parts, len(pages)) for parts in pages]
    issued_ids = tuple(a.pk for parts in pages for a in parts)
    if len(pages) == 1:
        filename = f"uketsukehyo-{pages[0][0].receipt_number}.pdf"
    else:
        filename = f"uketsukehyo-{timezone.localdate():%Y%m%d}-{len(pages)}.pdf"
    return IssuedSlips(render_slips_pdf(slips), issued_ids, len(pages), filename)


def _issue_page(
    municipality: Municipality, staff: StaffContext, parts: list[Application], pages: int
) -> Slip:
    secret = lookup_secret_new()
    ids = [a.pk for a in parts]
    for application in parts:
        application.secret_hash = lookup_secret_hash(application.receipt_number, secret)
        application.save(update_fields=["secret_hash"])
        actor = staff.actor(application.department)
        audit_access(
            municipality=municipality,
            actor=actor,
            purpose=ACCESS_PURPOSE,
            obj=application,
            action="slip",
        )
        audit_event(
            municipality=municipality,
            action=EVENT,
            actor=actor,
            obj=application,
            data={"shared_with": [i for i in ids if i != application.pk], "pages": pages},
        )
    return Slip(
        municipality_name=municipality.name,
        addressee=_addressee(parts),
        parts=tuple(_part(a) for a in parts),
        status_url=_status_url(municipality, parts[0].receipt_number),
        secret=secret,
    )


# --- the PDF -----------------------------------------------------------------------------------


class _JapaneseFont(UnicodeCIDFont):
    """The CID font, declared with the UTF-16 CMap that matches the text it writes.

    reportlab writes UTF-16 but declares the UCS-2 CMap, under which a character outside the
    BMP (the 𠮷 of 𠮷田) is lost or garbles its neighbour; a name must print as registered.
    """

    def __init__(self, face: str) -> None:
        super().__init__(face)
        self.encodingName = "UniJIS-UTF16-H"


def _both(day: datetime.date) -> str:
    return f"{format_wareki(day)}（{day.isoformat()}）"


def _wrap(text: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (by character: Japanese has no spaces)."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and pdfmetrics.stringWidth(current + char, FONT, size) > width:
            lines.append(current)
            current = ""
        current += char
    return [*lines, current] if current else lines


class _Page:
    """Writes lines downwards from the top of an A4 page."""

    def __init__(self, pdf: Canvas) -> None:
        self.pdf = pdf
        self.y = A4[1]

    def text(self, x: float, text: str, *, size: float = 10.5, width: float = 170 * mm) -> None:
        self.pdf.setFont(FONT, size)
        for line in _wrap(text, size, width):
            self.y -= size * 1.6
            self.pdf.drawString(x, self.y, line)

    def skip(self, height: float) -> None:
        self.y -= height


def _qr(pdf: Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR code of ``url`` drawn as squares, its lower left corner at (x, y)."""
    code = segno.make(url, error="m")
    rows = [list(row) for row in code.matrix_iter(scale=1, border=0)]
    module = size / len(rows)
    pdf.setFillColorRGB(0, 0, 0)
    for row_number, row in enumerate(rows):
        top = y + size - (row_number + 1) * module
        column = 0
        while column < len(row):
            if row[column]:
                start = column
                while column < len(row) and row[column]:
                    column += 1
                pdf.rect(x + start * module, top, (column - start) * module, module, 0, 1)
            else:
                column += 1


def _draw(pdf: Canvas, slip: Slip) -> None:
    page = _Page(pdf)
    left = 20 * mm
    # A 長形3号 window envelope shows about 90 × 45 mm from 23 mm left and 13 mm below the top
    # of the folded sheet: the name goes there, the office opposite.
    page.skip(28 * mm)
    if slip.addressee:
        page.text(25 * mm, f"{slip.addressee} 様", size=14, width=85 * mm)
    page.y = A4[1] - 22 * mm
    departments = list(dict.fromkeys(p.department_name for p in slip.parts))
    for line in [slip.municipality_name, *departments]:
        page.text(125 * mm, line, size=10.5, width=65 * mm)
    page.y = A4[1] - 70 * mm
    pdf.setFont(FONT, 20)
    pdf.drawCentredString(A4[0] / 2, page.y, "受付票")
    page.skip(4 * mm)
    pdf.setFont(FONT, 10.5)
    pdf.drawCentredString(A4[0] / 2, page.y - 6 * mm, "（申請の状況を確認するための番号とコード）")
    page.skip(12 * mm)
    for part in slip.parts:
        page.skip(2 * mm)
        page.text(left, f"手続き　　{part.procedure_name}（{part.department_name}）", size=11)
        page.text(left, f"受付番号　{receipt_number_display(part.receipt_number)}", size=14)
        expected = (
            _both(part.expected_completion)
            if part.expected_completion is not None
            else "処理は終わっています"
        )
        page.text(left, f"受付日　　{_both(part.submitted_on)}　処理予定日　{expected}", size=10)
    page.skip(6 * mm)
    page.text(left, f"確認コード　{lookup_secret_display(slip.secret)}", size=18)
    page.skip(8 * mm)
    qr_size = 34 * mm
    qr_top = page.y
    _qr(pdf, slip.status_url, A4[0] - 20 * mm - qr_size, qr_top - qr_size, qr_size)
    narrow = 120 * mm
    explanation = [
        "申請の状況は、次のページで受付番号と確認コードを入力すると確認できます。"
        "右のQRコードを読み取ると、受付番号が入力された状態でページが開きます。",
        slip.status_url,
        "確認コードは、申請の状況やお知らせを見るためのものです。"
        "ほかの人に知らせたり、見せたりしないでください。",
        "この受付票を発行したため、以前にお知らせした確認コードは使えなくなりました。",
    ]
    if len(slip.parts) > 1:
        explanation.append(
            "同時に申請された手続きは、どの受付番号でも、この確認コードですべての状況を確認できます。"
        )
    explanation.append(
        "確認コードがわからなくなったときは、本人確認のうえ受付票を発行し直しますので、"
        "上記の担当までお問い合わせください。"
    )
    for paragraph in explanation:
        page.text(left, paragraph, size=10, width=narrow)
        page.skip(2 * mm)
    pdf.showPage()


def render_slips_pdf(slips: Sequence[Slip]) -> bytes:
    """The slips as an A4 PDF, one page each."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(_JapaneseFont(FONT))
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle("受付票")
    for slip in slips:
        _draw(pdf, slip)
    pdf.save()
    return buffer.getvalue()
