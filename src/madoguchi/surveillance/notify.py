"""E-mailing a patient their self-report link (sent after the transaction commits)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def report_link_url(*, municipality_slug: str, token: str) -> str:
    path = reverse(
        "surveillance:self-report", kwargs={"municipality_slug": municipality_slug, "token": token}
    )
    return f"{settings.MADOGUCHI_SITE_URL}{path}"


def send_report_link(*, email: str, url: str, centre_name: str, phone: str) -> bool:
    """Send the link; a mail server that is down must not undo the notification."""
    subject = _("【%(centre)s】毎日の体調報告のお願い") % {"centre": centre_name}
    body = _(
        "療養期間中は、毎日1回、次のリンクから体調を報告してください。\n%(url)s\n\n"
        "このリンクは療養期間の終わりまで使えます。他の人に教えないでください。\n"
        "息苦しいなど急な変化があれば、報告を待たずに %(phone)s にお電話ください。"
    ) % {"url": url, "phone": phone}
    try:
        send_mail(subject, body, None, [email], fail_silently=False)
    except OSError:
        logger.exception("could not send the report link")
        return False
    return True
