"""Booking on LINE: postbacks and short typed answers, through the same services as the web.

The webhook (consultation.channels.line) hands every postback whose data starts with
``reservations:`` here, and a typed text when this user's booking waits for one (a name, a
date of birth). The answer goes back as a reply with quick-reply buttons (at most 13; longer
lists page on with 「次へ」):

- ``reservations:menu[:<page>]``        the resources (the rich-menu entry 予約)
- ``reservations:r:<code>:<page>``      that resource: the days with free seats
- ``reservations:d:<code>:<day>:<page>`` that day: the times with free seats
- ``reservations:s:<slot>``             that time chosen: the questions, then the summary
- ``reservations:a:<n>`` / ``ap:<page>`` the n-th district of the resource's list
- ``reservations:ok``                   book (``services.booking_create``, channel ``line``)
- ``reservations:quit``                 drop the booking being made
- ``reservations:my``                   the user's bookings to come, each with 取消し
- ``reservations:c:<id>`` / ``cc:<id>`` ask, then cancel (``services.booking_cancel``)

What the user chose so far is a :class:`LineBookingDraft` keyed by the blind index of the LINE
user id (the questions and the confirmation: :mod:`madoguchi.reservations.linebooking`; what
the replies share: :mod:`madoguchi.reservations.linereply`); the booking keeps the user id
encrypted (and its blind index) for "my bookings", cancel and the day-before reminder. Only
bookings made by the same LINE user on the same municipality's account are ever shown or
cancelled.
"""

from __future__ import annotations

import datetime
import unicodedata

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.procedures.receipts import receipt_number_display
from madoguchi.reservations import selectors, services
from madoguchi.reservations.errors import ErrorCode, ReservationError, error_message
from madoguchi.reservations.linebooking import (
    QUIT_WORDS,
    booking_confirm,
    booking_quit,
    choose_slot,
    district_answer,
    districts_page,
    draft_get,
    line_draft_leave,
    line_drafts_purge,
    no_draft,
    text_answer,
)
from madoguchi.reservations.linereply import (
    LINE_ACTOR,
    MENU_POSTBACK,
    MY_POSTBACK,
    PREFIX,
    QUICK_REPLIES,
    LineAnswer,
    day_label,
    int_or_none,
    menu_button,
    paged,
    resource_name,
    short_when,
    when_label,
)
from madoguchi.reservations.models import Booking, Resource, Slot
from madoguchi.tenants.models import Municipality

__all__ = [
    "LINE_ACTOR",
    "MENU_POSTBACK",
    "MY_POSTBACK",
    "PREFIX",
    "LineAnswer",
    "line_draft_leave",
    "line_drafts_purge",
    "line_language",
    "line_postback_answer",
    "line_text_answer",
]

_DAYS_AHEAD = 14


def line_language(*, municipality: Municipality, line_user_id: str) -> str:
    """The user's language: English when they chose it for messages from this account."""
    from madoguchi.messaging.selectors import subscriber_for_line_user

    subscriber = subscriber_for_line_user(municipality=municipality, user_id=line_user_id)
    return "en" if subscriber is not None and subscriber.language == "en" else "ja"


# --- choosing a time ---------------------------------------------------------------------


def _menu(municipality: Municipality, page: int, language: str) -> LineAnswer:
    resources = list(selectors.resource_list(municipality=municipality))
    my = (_("予約の確認・取消し"), MY_POSTBACK)
    if not resources:
        return LineAnswer(_("現在、LINEで予約できるものはありません。"), (my,))
    items = [(resource_name(r, language), f"{PREFIX}r:{r.code}:0") for r in resources]
    return LineAnswer(
        _("予約したいものを選んでください。"),
        paged(items, page, lambda p: f"{PREFIX}menu:{p}", (my,)),
    )


def _free_slots(resource: Resource) -> list[Slot]:
    slots = selectors.slots_open(resource=resource, start=timezone.localdate(), days=_DAYS_AHEAD)
    return [s for s in slots if s.free > 0]


def _days(municipality: Municipality, code: str, page: int, language: str) -> LineAnswer:
    resource = selectors.resource_get(municipality=municipality, code=code)
    if resource is None:
        return LineAnswer(error_message(ErrorCode.SLOT_UNKNOWN), (menu_button(),))
    days = sorted({timezone.localtime(s.starts_at).date() for s in _free_slots(resource)})
    name = resource_name(resource, language)
    if not days:
        return LineAnswer(
            _("「%(name)s」は2週間先まで空きがありません。") % {"name": name}, (menu_button(),)
        )
    items = [(day_label(d, language), f"{PREFIX}d:{code}:{d.isoformat()}:0") for d in days]
    return LineAnswer(
        _("「%(name)s」の日にちを選んでください。") % {"name": name},
        paged(items, page, lambda p: f"{PREFIX}r:{code}:{p}", (menu_button(),)),
    )


def _times(
    municipality: Municipality, code: str, day_text: str, page: int, language: str
) -> LineAnswer:
    resource = selectors.resource_get(municipality=municipality, code=code)
    try:
        day = datetime.date.fromisoformat(day_text)
    except ValueError:
        day = None
    if resource is None or day is None:
        return LineAnswer(error_message(ErrorCode.SLOT_UNKNOWN), (menu_button(),))
    slots = [s for s in _free_slots(resource) if timezone.localtime(s.starts_at).date() == day]
    back = (_("日にちを選び直す"), f"{PREFIX}r:{code}:0")
    if not slots:
        return LineAnswer(error_message(ErrorCode.FULL), (back, menu_button()))
    items = [
        (
            _("%(time)s（残り%(free)s）")
            % {"time": f"{timezone.localtime(s.starts_at):%H:%M}", "free": s.free},
            f"{PREFIX}s:{s.pk}",
        )
        for s in slots
    ]
    return LineAnswer(
        _("%(day)s の時間を選んでください。") % {"day": day_label(day, language)},
        paged(items, page, lambda p: f"{PREFIX}d:{code}:{day_text}:{p}", (back,)),
    )


# --- my bookings and cancel --------------------------------------------------------------


def _booking_line(booking: Booking, language: str) -> str:
    return _("・%(name)s %(when)s（受付番号 %(number)s）") % {
        "name": resource_name(booking.resource, language),
        "when": when_label(booking.slot, language),
        "number": receipt_number_display(booking.receipt_number),
    }


def _mine(municipality: Municipality, line_user_id: str, language: str) -> LineAnswer:
    bookings = selectors.bookings_of_line_user(
        municipality=municipality, line_user_id=line_user_id, limit=QUICK_REPLIES - 1
    )
    if not bookings:
        return LineAnswer(_("LINEからのご予約はありません。"), (menu_button(),))
    lines = "\n".join(_booking_line(b, language) for b in bookings)
    actions = tuple(
        (_("取消し %(when)s") % {"when": short_when(b.slot)}, f"{PREFIX}c:{b.pk}") for b in bookings
    )
    return LineAnswer(
        _("LINEからのご予約：\n%(lines)s") % {"lines": lines}, (*actions, menu_button())
    )


def _not_found() -> LineAnswer:
    return LineAnswer(
        _("この予約は見つかりません。"), ((_("予約の確認・取消し"), MY_POSTBACK), menu_button())
    )


def _cancel(
    municipality: Municipality,
    line_user_id: str,
    booking_id: int | None,
    confirmed: bool,
    language: str,
) -> LineAnswer:
    booking = (
        None
        if booking_id is None
        else selectors.booking_of_line_user(
            municipality=municipality, line_user_id=line_user_id, booking_id=booking_id
        )
    )
    if booking is None:
        return _not_found()
    if not confirmed:
        return LineAnswer(
            _("この予約を取り消しますか。\n%(line)s") % {"line": _booking_line(booking, language)},
            ((_("取り消す"), f"{PREFIX}cc:{booking.pk}"), (_("取り消さない"), MY_POSTBACK)),
        )
    try:
        with transaction.atomic():
            services.booking_cancel(
                municipality=municipality, booking_id=booking.pk, actor=LINE_ACTOR
            )
    except ReservationError as exc:
        return LineAnswer(exc.message, ((_("予約の確認・取消し"), MY_POSTBACK),))
    return LineAnswer(
        _("予約を取り消しました。\n%(line)s") % {"line": _booking_line(booking, language)},
        (menu_button(),),
    )


# --- entry points ------------------------------------------------------------------------


def _postback(municipality: Municipality, user: str, parts: list[str], language: str) -> LineAnswer:
    verb, args = parts[0], parts[1:]
    page = int_or_none(args[-1]) if args else None
    if verb == "menu":
        return _menu(municipality, page or 0, language)
    if verb == "r" and len(args) == 2:
        return _days(municipality, args[0], page or 0, language)
    if verb == "d" and len(args) == 3:
        return _times(municipality, args[0], args[1], page or 0, language)
    if verb == "s" and len(args) == 1:
        return choose_slot(municipality, user, int_or_none(args[0]), language)
    if verb == "a" and len(args) == 1:
        return district_answer(municipality, user, int_or_none(args[0]), language)
    if verb == "ap" and len(args) == 1:
        draft = draft_get(municipality, user)
        return no_draft() if draft is None else districts_page(draft, page or 0)
    if verb == "ok" and not args:
        return booking_confirm(municipality, user, language)
    if verb == "quit" and not args:
        return booking_quit(municipality, user)
    if verb == "my" and not args:
        return _mine(municipality, user, language)
    if verb in {"c", "cc"} and len(args) == 1:
        return _cancel(municipality, user, int_or_none(args[0]), verb == "cc", language)
    return _menu(municipality, 0, language)


def line_postback_answer(
    *, municipality: Municipality, line_user_id: str, data: str
) -> LineAnswer | None:
    """The answer to a reservations postback; None when ``data`` is not one of ours."""
    if not data.startswith(PREFIX) or not line_user_id:
        return None
    language = line_language(municipality=municipality, line_user_id=line_user_id)
    with translation.override(language):
        return _postback(municipality, line_user_id, data[len(PREFIX) :].split(":"), language)


def line_text_answer(
    *, municipality: Municipality, line_user_id: str, text: str
) -> LineAnswer | None:
    """The answer to a typed text when this user's booking waits for one; else None."""
    if not line_user_id:
        return None
    draft = draft_get(municipality, line_user_id)
    if draft is None or not draft.awaiting:
        return None
    language = line_language(municipality=municipality, line_user_id=line_user_id)
    with translation.override(language):
        if unicodedata.normalize("NFKC", text).strip().lower() in QUIT_WORDS:
            return booking_quit(municipality, line_user_id)
        return text_answer(draft, text, language)
