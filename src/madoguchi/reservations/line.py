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
user id; the booking keeps the user id encrypted (and its blind index) for "my bookings", cancel
and the day-before reminder. Only bookings made by the same LINE user on the same municipality's
account are ever shown or cancelled.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.reservations import selectors, services
from madoguchi.reservations.errors import ErrorCode, ReservationError, error_message
from madoguchi.reservations.models import Booking, LineBookingDraft, Resource, Slot
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

PREFIX: Final = "reservations:"
MENU_POSTBACK: Final = "reservations:menu"
MY_POSTBACK: Final = "reservations:my"
LINE_ACTOR: Final = AuditActor(label="line")
_QUICK_REPLIES: Final = 13
_DAYS_AHEAD: Final = 14
_DRAFT_MINUTES: Final = 30
_NAME_MAX: Final = 100
_WEEKDAYS_JA: Final = "月火水木金土日"
_WEEKDAYS_EN: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_QUIT_WORDS: Final = {"やめる", "キャンセル", "中止", "cancel", "quit", "stop"}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$|^(\d{4})(\d{2})(\d{2})$")

Action = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LineAnswer:
    text: str
    actions: tuple[Action, ...] = ()  # (label, postback data)


def line_language(*, municipality: Municipality, line_user_id: str) -> str:
    """The user's language: English when they chose it for messages from this account."""
    from madoguchi.messaging.selectors import subscriber_for_line_user

    subscriber = subscriber_for_line_user(municipality=municipality, user_id=line_user_id)
    return "en" if subscriber is not None and subscriber.language == "en" else "ja"


# --- small helpers -------------------------------------------------------------------------


def _resource_name(resource: Resource, language: str) -> str:
    return (language == "en" and resource.name_en) or resource.name


def _day_label(day: datetime.date, language: str) -> str:
    if language == "en":
        return f"{_WEEKDAYS_EN[day.weekday()]} {day.month}/{day.day}"
    return f"{day.month}/{day.day}({_WEEKDAYS_JA[day.weekday()]})"


def _when(slot: Slot, language: str) -> str:
    start = timezone.localtime(slot.starts_at)
    return f"{_day_label(start.date(), language)} {start:%H:%M}"


def _short_when(slot: Slot) -> str:
    """12/7 09:00: fits a button label (20 characters) with a word before it."""
    start = timezone.localtime(slot.starts_at)
    return f"{start.month}/{start.day} {start:%H:%M}"


def _paged(
    items: list[Action], page: int, more: Callable[[int], str], tail: tuple[Action, ...]
) -> tuple[Action, ...]:
    """One page of ``items`` with 「次へ」 when more follow, then the fixed ``tail`` buttons."""
    room = _QUICK_REPLIES - len(tail) - 1
    page = max(page, 0)
    chunk = items[page * room : (page + 1) * room]
    actions = list(chunk)
    if (page + 1) * room < len(items):
        actions.append((_("次へ"), more(page + 1)))
    return (*actions, *tail)


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 12 else None


def _menu_button() -> Action:
    return (_("予約メニュー"), MENU_POSTBACK)


def _quit_button() -> Action:
    return (_("やめる"), f"{PREFIX}quit")


def _birth_date(text: str) -> datetime.date | None:
    """A date of birth typed as 1980-04-01, 1980/4/1, 1980年4月1日 or 19800401 (全角 too)."""
    match = _DATE.match(unicodedata.normalize("NFKC", text).strip().replace(" ", ""))
    if match is None:
        return None
    year, month, day = (int(g) for g in match.groups() if g is not None)
    try:
        found = datetime.date(year, month, day)
    except ValueError:
        return None
    return found if datetime.date(1900, 1, 1) <= found <= timezone.localdate() else None


# --- choosing a time -----------------------------------------------------------------------


def _menu(municipality: Municipality, page: int, language: str) -> LineAnswer:
    resources = list(selectors.resource_list(municipality=municipality))
    my = (_("予約の確認・取消し"), MY_POSTBACK)
    if not resources:
        return LineAnswer(_("現在、LINEで予約できるものはありません。"), (my,))
    items = [(_resource_name(r, language), f"{PREFIX}r:{r.code}:0") for r in resources]
    return LineAnswer(
        _("予約したいものを選んでください。"),
        _paged(items, page, lambda p: f"{PREFIX}menu:{p}", (my,)),
    )


def _free_slots(resource: Resource) -> list[Slot]:
    slots = selectors.slots_open(resource=resource, start=timezone.localdate(), days=_DAYS_AHEAD)
    return [s for s in slots if s.free > 0]


def _days(municipality: Municipality, code: str, page: int, language: str) -> LineAnswer:
    resource = selectors.resource_get(municipality=municipality, code=code)
    if resource is None:
        return LineAnswer(error_message(ErrorCode.SLOT_UNKNOWN), (_menu_button(),))
    days = sorted({timezone.localtime(s.starts_at).date() for s in _free_slots(resource)})
    name = _resource_name(resource, language)
    if not days:
        return LineAnswer(
            _("「%(name)s」は2週間先まで空きがありません。") % {"name": name}, (_menu_button(),)
        )
    items = [(_day_label(d, language), f"{PREFIX}d:{code}:{d.isoformat()}:0") for d in days]
    return LineAnswer(
        _("「%(name)s」の日にちを選んでください。") % {"name": name},
        _paged(items, page, lambda p: f"{PREFIX}r:{code}:{p}", (_menu_button(),)),
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
        return LineAnswer(error_message(ErrorCode.SLOT_UNKNOWN), (_menu_button(),))
    slots = [s for s in _free_slots(resource) if timezone.localtime(s.starts_at).date() == day]
    back = (_("日にちを選び直す"), f"{PREFIX}r:{code}:0")
    if not slots:
        return LineAnswer(error_message(ErrorCode.FULL), (back, _menu_button()))
    items = [
        (
            _("%(time)s（残り%(free)s）")
            % {"time": f"{timezone.localtime(s.starts_at):%H:%M}", "free": s.free},
            f"{PREFIX}s:{s.pk}",
        )
        for s in slots
    ]
    return LineAnswer(
        _("%(day)s の時間を選んでください。") % {"day": _day_label(day, language)},
        _paged(items, page, lambda p: f"{PREFIX}d:{code}:{day_text}:{p}", (back,)),
    )


# --- the booking being made ----------------------------------------------------------------


def _draft(municipality: Municipality, line_user_id: str) -> LineBookingDraft | None:
    """The user's booking in progress, unless it was left for longer than half an hour."""
    draft = (
        LineBookingDraft.objects.select_related("slot__resource")
        .filter(municipality=municipality, line_user_key=selectors.line_user_key(line_user_id))
        .first()
    )
    if draft is None:
        return None
    if draft.updated_at < timezone.now() - datetime.timedelta(minutes=_DRAFT_MINUTES):
        draft.delete()
        return None
    return draft


def _no_draft() -> LineAnswer:
    return LineAnswer(
        _("予約の手続きが見つかりません。はじめからお選びください。"), (_menu_button(),)
    )


def _choose_slot(
    municipality: Municipality, line_user_id: str, slot_id: int | None, language: str
) -> LineAnswer:
    slot = (
        None if slot_id is None else selectors.slot_get(municipality=municipality, slot_id=slot_id)
    )
    if slot is None:
        return LineAnswer(error_message(ErrorCode.SLOT_UNKNOWN), (_menu_button(),))
    back = (_("別の時間を選ぶ"), f"{PREFIX}r:{slot.resource.code}:0")
    if slot.starts_at <= timezone.now():
        return LineAnswer(error_message(ErrorCode.SLOT_PAST), (back, _menu_button()))
    if slot.free <= 0:
        return LineAnswer(error_message(ErrorCode.FULL), (back, _menu_button()))
    draft, _created = LineBookingDraft.objects.update_or_create(
        municipality=municipality,
        line_user_key=selectors.line_user_key(line_user_id),
        defaults={"slot": slot, "district": "", "birth_date": None, "name": "", "awaiting": ""},
    )
    return _next_question(draft, language)


def _districts(draft: LineBookingDraft, page: int) -> LineAnswer:
    items = [(d, f"{PREFIX}a:{n}") for n, d in enumerate(draft.slot.resource.districts)]
    return LineAnswer(
        _("お住まいの地区を選んでください。"),
        _paged(items, page, lambda p: f"{PREFIX}ap:{p}", (_quit_button(),)),
    )


def _next_question(draft: LineBookingDraft, language: str) -> LineAnswer:
    """Ask the first unanswered question of the resource, or show the summary to confirm."""
    resource = draft.slot.resource
    awaiting = ""
    if resource.districts and not draft.district:
        answer = _districts(draft, 0)
    elif (resource.min_age is not None or resource.max_age is not None) and not draft.birth_date:
        awaiting = "birth_date"
        answer = LineAnswer(
            _("対象年齢の確認のため、生年月日を 1980-04-01 の形で送ってください。"),
            (_quit_button(),),
        )
    elif not draft.name:
        awaiting = "name"
        answer = LineAnswer(_("予約されるかたのお名前を送ってください。"), (_quit_button(),))
    else:
        answer = LineAnswer(
            _(
                "次の内容で予約しますか。\n%(name)s\n日時: %(when)s\n場所: %(place)s\n"
                "お名前: %(person)s"
            )
            % {
                "name": _resource_name(resource, language),
                "when": _when(draft.slot, language),
                "place": resource.place,
                "person": draft.name,
            },
            ((_("予約する"), f"{PREFIX}ok"), _quit_button()),
        )
    draft.awaiting = awaiting
    draft.save(update_fields=["awaiting", "updated_at"])
    return answer


def _district_answer(
    municipality: Municipality, line_user_id: str, index: int | None, language: str
) -> LineAnswer:
    draft = _draft(municipality, line_user_id)
    if draft is None:
        return _no_draft()
    districts = draft.slot.resource.districts
    if index is None or not 0 <= index < len(districts):
        return LineAnswer(_("地区は一覧から選んでください。"), _districts(draft, 0).actions)
    draft.district = districts[index]
    draft.save(update_fields=["district", "updated_at"])
    return _next_question(draft, language)


def _refused(draft: LineBookingDraft, exc: ReservationError) -> LineAnswer:
    """A refusal ends the booking being made; the user starts again from the resource."""
    code = draft.slot.resource.code
    draft.delete()
    return LineAnswer(exc.message, ((_("別の時間を選ぶ"), f"{PREFIX}r:{code}:0"), _menu_button()))


def _text_answer(draft: LineBookingDraft, text: str, language: str) -> LineAnswer:
    if draft.awaiting == "birth_date":
        birth_date = _birth_date(text)
        if birth_date is None:
            return LineAnswer(_("生年月日は 1980-04-01 の形で送ってください。"), (_quit_button(),))
        try:
            services.eligibility_check(
                resource=draft.slot.resource,
                day=timezone.localtime(draft.slot.starts_at).date(),
                birth_date=birth_date,
                district=draft.district,
            )
        except ReservationError as exc:
            return _refused(draft, exc)
        draft.birth_date = birth_date
        draft.save(update_fields=["birth_date", "updated_at"])
        return _next_question(draft, language)
    name = " ".join(text.split())
    if not name or len(name) > _NAME_MAX:
        return LineAnswer(_("お名前を100文字以内で送ってください。"), (_quit_button(),))
    draft.name = name
    draft.save(update_fields=["name", "updated_at"])
    return _next_question(draft, language)


def _confirm(municipality: Municipality, line_user_id: str, language: str) -> LineAnswer:
    draft = _draft(municipality, line_user_id)
    if draft is None:
        return _no_draft()
    if draft.awaiting or not draft.name:
        return _next_question(draft, language)
    try:
        with transaction.atomic():
            result = services.booking_create(
                municipality=municipality,
                slot_id=draft.slot_id,
                name=draft.name,
                birth_date=draft.birth_date,
                district=draft.district,
                language=language,
                channel="line",
                line_user_id=line_user_id,
                actor=LINE_ACTOR,
            )
    except ReservationError as exc:
        return _refused(draft, exc)
    draft.delete()
    booking = result.booking
    return LineAnswer(
        _(
            "予約しました。\n%(name)s\n日時: %(when)s\n場所: %(place)s\n受付番号: %(number)s\n"
            "確認コード: %(secret)s\n受付番号と確認コードは、ウェブでの変更・取消しにも使えます。"
        )
        % {
            "name": _resource_name(draft.slot.resource, language),
            "when": _when(draft.slot, language),
            "place": draft.slot.resource.place,
            "number": receipt_number_display(booking.receipt_number),
            "secret": lookup_secret_display(result.secret),
        },
        ((_("予約の確認・取消し"), MY_POSTBACK), _menu_button()),
    )


def _quit(municipality: Municipality, line_user_id: str) -> LineAnswer:
    LineBookingDraft.objects.filter(
        municipality=municipality, line_user_key=selectors.line_user_key(line_user_id)
    ).delete()
    return LineAnswer(_("予約の手続きをやめました。"), (_menu_button(),))


# --- my bookings and cancel ----------------------------------------------------------------


def _booking_line(booking: Booking, language: str) -> str:
    return _("・%(name)s %(when)s（受付番号 %(number)s）") % {
        "name": _resource_name(booking.resource, language),
        "when": _when(booking.slot, language),
        "number": receipt_number_display(booking.receipt_number),
    }


def _mine(municipality: Municipality, line_user_id: str, language: str) -> LineAnswer:
    bookings = selectors.bookings_of_line_user(
        municipality=municipality, line_user_id=line_user_id, limit=_QUICK_REPLIES - 1
    )
    if not bookings:
        return LineAnswer(_("LINEからのご予約はありません。"), (_menu_button(),))
    lines = "\n".join(_booking_line(b, language) for b in bookings)
    actions = tuple(
        (_("取消し %(when)s") % {"when": _short_when(b.slot)}, f"{PREFIX}c:{b.pk}")
        for b in bookings
    )
    return LineAnswer(
        _("LINEからのご予約：\n%(lines)s") % {"lines": lines}, (*actions, _menu_button())
    )


def _not_found() -> LineAnswer:
    return LineAnswer(
        _("この予約は見つかりません。"), ((_("予約の確認・取消し"), MY_POSTBACK), _menu_button())
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
        (_menu_button(),),
    )


# --- entry points ------------------------------------------------------------------------------


def _postback(municipality: Municipality, user: str, parts: list[str], language: str) -> LineAnswer:
    verb, args = parts[0], parts[1:]
    page = _int(args[-1]) if args else None
    if verb == "menu":
        return _menu(municipality, page or 0, language)
    if verb == "r" and len(args) == 2:
        return _days(municipality, args[0], page or 0, language)
    if verb == "d" and len(args) == 3:
        return _times(municipality, args[0], args[1], page or 0, language)
    if verb == "s" and len(args) == 1:
        return _choose_slot(municipality, user, _int(args[0]), language)
    if verb == "a" and len(args) == 1:
        return _district_answer(municipality, user, _int(args[0]), language)
    if verb == "ap" and len(args) == 1:
        draft = _draft(municipality, user)
        return _no_draft() if draft is None else _districts(draft, page or 0)
    if verb == "ok" and not args:
        return _confirm(municipality, user, language)
    if verb == "quit" and not args:
        return _quit(municipality, user)
    if verb == "my" and not args:
        return _mine(municipality, user, language)
    if verb in {"c", "cc"} and len(args) == 1:
        return _cancel(municipality, user, _int(args[0]), verb == "cc", language)
    return _menu(municipality, 0, language)


def line_draft_leave(*, municipality: Municipality, line_user_id: str) -> None:
    """The user went elsewhere (another menu or button): drop the booking being made, so that
    a question typed next goes to the assistant and is not taken for a name."""
    if line_user_id:
        LineBookingDraft.objects.filter(
            municipality=municipality, line_user_key=selectors.line_user_key(line_user_id)
        ).delete()


def line_drafts_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the bookings in progress left for longer than half an hour; returns how many."""
    limit = (now or timezone.now()) - datetime.timedelta(minutes=_DRAFT_MINUTES)
    deleted, _kinds = LineBookingDraft.objects.filter(updated_at__lt=limit).delete()
    return deleted


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
    draft = _draft(municipality, line_user_id)
    if draft is None or not draft.awaiting:
        return None
    language = line_language(municipality=municipality, line_user_id=line_user_id)
    with translation.override(language):
        if unicodedata.normalize("NFKC", text).strip().lower() in _QUIT_WORDS:
            return _quit(municipality, line_user_id)
        return _text_answer(draft, text, language)
