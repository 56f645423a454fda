"""The e-mails of the subscription itself: the confirmation link and the link to one's choices."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from madoguchi.messaging.models import Channel, Subscriber

logger = logging.getLogger(__name__)


def subscription_mail_send(*, subscriber_id: int, kind: str) -> bool:
    """Send the mail; False when the subscriber is gone or the server refused (logged)."""
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
    with translation.override(subscriber.language):
        if name == "confirm":
            subject = _("【%(name)s】お知らせ配信の登録を確認してください") % {
                "name": municipality.name
            }
            body = _(
                "%(name)sのお知らせ配信にこのメールアドレスが登録されました。\n"
                "登録を完了するには、次のリンクを開いて「登録を完了する」を押してください。\n\n"
                "%(url)s\n\n"
                "心当たりがない場合は、このメールを破棄してください。登録は完了しません。"
            ) % {"name": municipality.name, "url": url}
        else:
            subject = _("【%(name)s】お知らせ配信の登録内容") % {"name": municipality.name}
            body = _(
                "このメールアドレスは%(name)sのお知らせ配信に登録済みです。\n"
                "受け取る内容の確認・変更・停止は次のリンクからできます。\n\n%(url)s"
            ) % {"name": municipality.name, "url": url}
    try:
        EmailMessage(subject=subject, body=body, to=[subscriber.address]).send()
    except (smtplib.SMTPException, OSError):
        logger.warning("subscription mail to subscriber %s failed", subscriber_id, exc_info=True)
        return False
    return True
