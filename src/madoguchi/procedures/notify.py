"""E-mails to residents about their applications (sent after the transaction commits)."""

from __future__ import annotations

import datetime
import logging

from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from madoguchi.core.wareki import format_wareki
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display

logger = logging.getLogger(__name__)


def _send(subject: str, body: str, email: str) -> bool:
    """Send one message; a mail server that is down must not undo what the resident did."""
    try:
        send_mail(subject, body, None, [email], fail_silently=False)
    except OSError:
        logger.exception("could not send e-mail (%s)", subject)
        return False
    return True


def resident_language(language: str | None) -> str:
    """The language a resident's e-mails are written in: English when they used the site in
    English, else Japanese (the languages the catalogues cover)."""
    return "en" if (language or "").startswith("en") else "ja"


def send_receipt(
    *,
    email: str,
    municipality_name: str,
    procedure_name: str,
    receipt_number: str,
    secret: str,
    status_url: str,
    language: str = "ja",
) -> bool:
    with translation.override(resident_language(language)):
        names = {"place": municipality_name, "procedure": procedure_name}
        subject = _("【%(place)s】%(procedure)sを受け付けました") % names
        body = (
            _("%(procedure)sを受け付けました。") % names
            + "\n\n"
            + _("受付番号：%(number)s") % {"number": receipt_number_display(receipt_number)}
            + "\n"
            + _("確認コード：%(code)s") % {"code": lookup_secret_display(secret)}
            + "\n\n"
            + _("申請の状況は、受付番号と確認コードで次のページから確認できます。")
            + f"\n{status_url}\n\n"
            + _("確認コードは他の人に知らせないでください。")
            + "\n"
            + _("このメールに心当たりがない場合は、このメールを削除してください。")
            + f"\n\n{municipality_name}\n"
        )
    return _send(subject, body, email)


def send_resume_link(
    *,
    email: str,
    municipality_name: str,
    procedure_name: str,
    link: str,
    expires_at: datetime.datetime,
    language: str = "ja",
) -> bool:
    until = timezone.localtime(expires_at)
    with translation.override(resident_language(language)):
        names = {"place": municipality_name, "procedure": procedure_name}
        if resident_language(language) == "ja":
            expiry = f"{until:%Y年%m月%d日 %H:%M}（{format_wareki(until.date())}）"
        else:
            expiry = date_format(until, "j F Y, H:i")
        subject = _("【%(place)s】%(procedure)sの入力を再開するためのリンク") % names
        body = (
            _("%(procedure)sの入力内容を一時保存しました。") % names
            + "\n"
            + _("次のリンクから、続きを入力できます。")
            + f"\n\n{link}\n\n"
            + _("有効期限：%(expiry)s") % {"expiry": expiry}
            + "\n"
            + _(
                "このリンクを知っている人は入力内容を見ることができます。"
                "他の人に転送しないでください。"
            )
            + f"\n\n{municipality_name}\n"
        )
    return _send(subject, body, email)


def send_state_change(
    *,
    email: str,
    municipality_name: str,
    procedure_name: str,
    receipt_number: str,
    state_label: str,
    resident_action: str,
    public_message: str,
    status_url: str,
    language: str = "ja",
) -> bool:
    with translation.override(resident_language(language)):
        names = {
            "place": municipality_name,
            "procedure": procedure_name,
            "state": state_label,
            "number": receipt_number_display(receipt_number),
        }
        subject = _("【%(place)s】%(procedure)sの状況が「%(state)s」になりました") % names
        lines = [
            _("受付番号 %(number)s の%(procedure)sの状況が、") % names,
            _("「%(state)s」になりました。") % names,
            "",
        ]
        if resident_action:
            lines += [resident_action, ""]
        if public_message:
            lines += [_("お願いしたいこと："), public_message, ""]
            lines += [
                _("次のページで受付番号と確認コードを入力すると、回答や書類の送付ができます。")
            ]
        else:
            lines += [_("詳しい状況は、次のページで受付番号と確認コードを入力して確認できます。")]
    lines += [status_url, "", municipality_name, ""]
    return _send(subject, "\n".join(lines), email)
