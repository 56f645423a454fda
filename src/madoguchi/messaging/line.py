"""Choosing topics and an area from LINE: postbacks of the rich menu and quick replies.

The webhook (consultation.channels.line) hands every postback whose data starts with
``messaging:`` here and sends the answer back as a reply with quick-reply buttons:

- ``messaging:menu``            the topics to choose from (the rich-menu entry お知らせ設定)
- ``messaging:t:<topic>``       that topic chosen: the areas to choose from
- ``messaging:s:<topic>:<area>`` subscribe to the topic in the area ("" for no area)
- ``messaging:unsubscribe``     stop every message (the button under each message)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.utils.translation import gettext as _

from madoguchi.messaging import selectors, services
from madoguchi.messaging.delivery import UNSUBSCRIBE_POSTBACK
from madoguchi.messaging.errors import MessagingError
from madoguchi.tenants.models import Municipality

__all__ = ["PREFIX", "LineAnswer", "line_postback_answer"]

PREFIX: Final = "messaging:"
_QUICK_REPLIES: Final = 13


@dataclass(frozen=True, slots=True)
class LineAnswer:
    text: str
    actions: tuple[tuple[str, str], ...] = ()  # (label, postback data)


def _menu(municipality: Municipality) -> LineAnswer:
    topics = list(selectors.topic_list(municipality=municipality, active_only=True))
    if not topics:
        return LineAnswer(_("現在、登録できるお知らせはありません。"))
    actions = tuple((t.name[:20], f"{PREFIX}t:{t.code}") for t in topics[: _QUICK_REPLIES - 1])
    return LineAnswer(
        _("受け取りたいお知らせの種類を選んでください。"),
        (*actions, (_("配信停止"), UNSUBSCRIBE_POSTBACK)),
    )


def _areas(municipality: Municipality, topic_code: str) -> LineAnswer:
    areas = list(selectors.area_list(municipality=municipality)[: _QUICK_REPLIES - 1])
    actions = tuple((a.name[:20], f"{PREFIX}s:{topic_code}:{a.code}") for a in areas)
    return LineAnswer(
        _("お住まいの地域を選んでください。"),
        (*actions, (_("指定しない"), f"{PREFIX}s:{topic_code}:")),
    )


def line_postback_answer(
    *, municipality: Municipality, line_user_id: str, data: str
) -> LineAnswer | None:
    """The answer to a messaging postback; None when ``data`` is not one of ours."""
    if not data.startswith(PREFIX):
        return None
    parts = data[len(PREFIX) :].split(":")
    if parts == ["unsubscribe"]:
        stopped = services.line_unsubscribe(municipality=municipality, line_user_id=line_user_id)
        return LineAnswer(
            _("お知らせの配信を停止しました。")
            if stopped
            else _("お知らせの配信は登録されていません。"),
            ((_("お知らせを選ぶ"), f"{PREFIX}menu"),),
        )
    if parts == ["menu"]:
        return _menu(municipality)
    if len(parts) == 2 and parts[0] == "t":
        return _areas(municipality, parts[1])
    if len(parts) == 3 and parts[0] == "s":
        current = selectors.subscriber_for_line_user(
            municipality=municipality, user_id=line_user_id
        )
        codes = {parts[1]}
        if current is not None and current.unsubscribed_at is None:
            codes |= {t.code for t in current.topics.all()}
        try:
            services.line_subscription_set(
                municipality=municipality,
                line_user_id=line_user_id,
                topic_codes=sorted(codes),
                area_code=parts[2],
            )
        except MessagingError as exc:
            return LineAnswer(exc.message, ((_("お知らせを選ぶ"), f"{PREFIX}menu"),))
        topic = selectors.topic_list(municipality=municipality).filter(code=parts[1]).first()
        return LineAnswer(
            _("「%(topic)s」のお知らせをお届けします。") % {"topic": topic.name if topic else ""},
            ((_("ほかの種類も選ぶ"), f"{PREFIX}menu"), (_("配信停止"), UNSUBSCRIBE_POSTBACK)),
        )
    return _menu(municipality)
