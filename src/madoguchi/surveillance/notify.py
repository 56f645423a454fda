"""E-mailing a patient their self-report link (sent after the transaction commits)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse

from madoguchi.tenants.models import Municipality

logger = logging.getLogger(__name__)


def report_link_url(*, municipality_slug: str, token: str) -> str:
    path = reverse(
        "surveillance:self-report", kwargs={"municipality_slug": municipality_slug, "token": token}
    )
    return f"{settings.MADOGUCHI_SITE_URL}{path}"


def send_report_link(
    *, municipality: Municipality, email: str, url: str, centre_name: str, phone: str
) -> bool:
    """Send the link; a mail server that is down must not undo the notification (it is
    retried through messaging's notification path)."""
    from madoguchi.messaging.notices import NoticeKind, notice_send

    result = notice_send(
        municipality=municipality,
        kind=NoticeKind.REPORT_LINK,
        to=email,
        values={
            "municipality": municipality.name,
            "centre": centre_name,
            "url": url,
            "phone": phone,
        },
    )
    if result.error is not None:
        logger.error("could not send the report link", exc_info=result.error)
    return result.sent
