"""E-mails to residents about their applications (sent after the transaction commits).

They go through the notification path of messaging (:mod:`madoguchi.messaging.notices`): the
municipality's template or the default wording, a delivery-log row per message, and retries
with backoff when the mail server is down, so a failure never undoes what the resident did.
"""

from __future__ import annotations

import datetime
import logging

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from madoguchi.core.wareki import format_wareki
from madoguchi.messaging.notices import NoticeKind, notice_send
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.tenants.models import Municipality

logger = logging.getLogger(__name__)


def _send(
    *,
    municipality: Municipality,
    kind: NoticeKind,
    email: str,
    language: str,
    values: dict[str, str],
    dedupe_key: str | None = None,
) -> bool:
    """Send one message; a mail server that is down must not undo what the resident did."""
    result = notice_send(
        municipality=municipality,
        kind=kind,
        to=email,
        language=language,
        values={"municipality": municipality.name, **values},
        dedupe_key=dedupe_key,
    )
    if result.error is not None:  # logged in the delivery log too, and retried
        subject = result.notice.subject if result.notice is not None else str(kind)
        logger.error("could not send e-mail (%s)", subject, exc_info=result.error)
    return result.sent


def resident_language(language: str | None) -> str:
    """The language a resident's e-mails are written in: English when they used the site in
    English, else Japanese (the languages the catalogues cover)."""
    return "en" if (language or "").startswith("en") else "ja"


def send_receipt(
    *,
    municipality: Municipality,
    email: str,
    procedure_name: str,
    receipt_number: str,
    secret: str,
    status_url: str,
    language: str = "ja",
) -> bool:
    return _send(
        municipality=municipality,
        kind=NoticeKind.RECEIPT,
        email=email,
        language=resident_language(language),
        values={
            "procedure": procedure_name,
            "receipt_number": receipt_number_display(receipt_number),
            "code": lookup_secret_display(secret),
            "status_url": status_url,
        },
    )


def send_resume_link(
    *,
    municipality: Municipality,
    email: str,
    procedure_name: str,
    link: str,
    expires_at: datetime.datetime,
    language: str = "ja",
) -> bool:
    until = timezone.localtime(expires_at)
    if resident_language(language) == "ja":
        expiry = f"{until:%Y年%m月%d日 %H:%M}（{format_wareki(until.date())}）"
    else:
        with translation.override("en"):
            expiry = date_format(until, "j F Y, H:i")
    return _send(
        municipality=municipality,
        kind=NoticeKind.RESUME_LINK,
        email=email,
        language=resident_language(language),
        values={"procedure": procedure_name, "link": link, "expiry": expiry},
    )


def send_state_change(
    *,
    municipality: Municipality,
    email: str,
    procedure_name: str,
    receipt_number: str,
    state_label: str,
    resident_action: str,
    public_message: str,
    status_url: str,
    language: str = "ja",
    dedupe_key: str | None = None,
) -> bool:
    with translation.override(resident_language(language)):
        lines: list[str] = []
        if resident_action:
            lines += [resident_action, ""]
        if public_message:
            lines += [_("お願いしたいこと："), public_message, ""]
            lines += [
                _("次のページで受付番号と確認コードを入力すると、回答や書類の送付ができます。")
            ]
        else:
            lines += [_("詳しい状況は、次のページで受付番号と確認コードを入力して確認できます。")]
    return _send(
        municipality=municipality,
        kind=NoticeKind.STATE_CHANGE,
        email=email,
        language=resident_language(language),
        values={
            "procedure": procedure_name,
            "receipt_number": receipt_number_display(receipt_number),
            "state": state_label,
            "details": "\n".join(lines),
            "status_url": status_url,
        },
        dedupe_key=dedupe_key,
    )
