"""The e-mails of the subscription itself: the confirmation link and the link to one's choices.

They go through the notification path (:mod:`madoguchi.messaging.notices`): a mail server
that is down does not lose the confirmation link, it is retried with backoff.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse

from madoguchi.messaging.models import Channel, Subscriber
from madoguchi.messaging.notices import NoticeKind, notice_send

logger = logging.getLogger(__name__)


def subscription_mail_send(*, subscriber_id: int, kind: str) -> bool:
    """Send the mail; False when the subscriber is gone or it did not go out yet (retried)."""
    subscriber = (
        Subscriber.objects.select_related("municipality")
        .filter(pk=subscriber_id, channel=Channel.EMAIL)
        .first()
    )
    if subscriber is None:
        return False
    municipality = subscriber.municipality
    name = "confirm" if kind == "confirm" else "manage"
    url = settings.MADOGUCHI_SITE_URL + reverse(
        f"messaging:{name}",
        kwargs={"municipality_slug": municipality.slug, "token": subscriber.token},
    )
    result = notice_send(
        municipality=municipality,
        kind=NoticeKind.SUBSCRIPTION_CONFIRM
        if name == "confirm"
        else NoticeKind.SUBSCRIPTION_MANAGE,
        to=subscriber.address,
        language=subscriber.language,
        values={"municipality": municipality.name, "url": url},
    )
    if result.error is not None:
        logger.warning(
            "subscription mail to subscriber %s failed; it is retried",
            subscriber_id,
            exc_info=result.error,
        )
    return result.sent
