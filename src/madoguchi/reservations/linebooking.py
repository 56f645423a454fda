"""The booking a LINE user is putting together: the chosen time, the questions, the confirmation.

The choices and answers live in a :class:`LineBookingDraft` (one per municipality and LINE user,
keyed by the blind index of the user id) until ``services.booking_create`` makes the booking.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Final

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.reservations import selectors, services
from madoguchi.reservations.errors import ErrorCode, ReservationError, error_message
from madoguchi.reservations.linereply import (
    LINE_ACTOR,
    MY_POSTBACK,
    PREFIX,
    LineAnswer,
    menu_button,
    paged,
    quit_button,
    resource_name,
    when_label,
)
from madoguchi.reservations.models import LineBookingDraft
from madoguchi.tenants.models import Municipality

__all__ = [
    "QUIT_WORDS",
    "booking_confirm",
    "booking_quit",
    "choose_slot",
    "district_answer",
    "districts_page",
    "draft_get",
    "line_draft_leave",
    "line_drafts_purge",
    "no_draft",
    "text_answer",
]

DRAFT_MINUTES: Final = 30
_NAME_MAX: Final = 100
QUIT_WORDS: Final = {"やめる", "キャンセル", "中止", "cancel", "quit", "stop"}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$|^(\d{4})(\d{2})(\d{2})$")


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


def draft_get(municipality: Municipality, line_user_id: str) -> LineBookingDraft | None:
    """The user's booking in progress, unless it was left for longer than half an hour."""
    draft = (
        LineBookingDraft.objects.select_related("slot__resource")
        .filter(municipality=municipality, line_user_key=selectors.line_user_key(line_user_id))
        .first()
    )
    if draft is None:
        return None
    if draft.updated_at < timezone.now() - datetime.timedelta(minutes=DRAFT_MINUTES):
        draft.delete()
        return None
    return draft


def no_draft() -> LineAnswer:
    return LineAnswer(
        _("予約の手続きが見つかりません。はじめからお選びください。"), (menu_button(),)
    )


def choose_slot(
    municipality: Municipality, line_user_id: str, slot_id: int | None, language: str
) -> LineAnswer:
    slot = (
        None if slot_id is None else selectors.slot_get(municipality=municipality, slot_id=slot_id)
    )
    if slot is None:
        return LineAnswer(error_message(ErrorCode.SLOT_UNKNOWN), (menu_button(),))
    back = (_("別の時間を選ぶ"), f"{PREFIX}r:{slot.resource.code}:0")
    if slot.starts_at <= timezone.now():
        return LineAnswer(error_message(ErrorCode.SLOT_PAST), (back, menu_button()))
    if slot.free <= 0:
        return LineAnswer(error_message(ErrorCode.FULL), (back, menu_button()))
    draft, _created = LineBookingDraft.objects.update_or_create(
        municipality=municipality,
        line_user_key=selectors.line_user_key(line_user_id),
        defaults={"slot": slot, "district": "", "birth_date": None, "name": "", "awaiting": ""},
    )
    return _next_question(draft, language)


def districts_page(draft: LineBookingDraft, page: int) -> LineAnswer:
    items = [(d, f"{PREFIX}a:{n}") for n, d in enumerate(draft.slot.resource.districts)]
    return LineAnswer(
        _("お住まいの地区を選んでください。"),
        paged(items, page, lambda p: f"{PREFIX}ap:{p}", (quit_button(),)),
    )


def _next_question(draft: LineBookingDraft, language: str) -> LineAnswer:
    """Ask the first unanswered question of the resource, or show the summary to confirm."""
    resource = draft.slot.resource
    awaiting = ""
    if resource.districts and not draft.district:
        answer = districts_page(draft, 0)
    elif (resource.min_age is not None or resource.max_age is not None) and not draft.birth_date:
        awaiting = "birth_date"
        answer = LineAnswer(
            _("対象年齢の確認のため、生年月日を 1980-04-01 の形で送ってください。"),
            (quit_button(),),
        )
    elif not draft.name:
        awaiting = "name"
        answer = LineAnswer(_("予約されるかたのお名前を送ってください。"), (quit_button(),))
    else:
        answer = LineAnswer(
            _(
                "次の内容で予約しますか。\n%(name)s\n日時: %(when)s\n場所: %(place)s\n"
                "お名前: %(person)s"
            )
            % {
                "name": resource_name(resource, language),
                "when": when_label(draft.slot, language),
                "place": resource.place,
                "person": draft.name,
            },
            ((_("予約する"), f"{PREFIX}ok"), quit_button()),
        )
    draft.awaiting = awaiting
    draft.save(update_fields=["awaiting", "updated_at"])
    return answer


def district_answer(
    municipality: Municipality, line_user_id: str, index: int | None, language: str
) -> LineAnswer:
    draft = draft_get(municipality, line_user_id)
    if draft is None:
        return no_draft()
    districts = draft.slot.resource.districts
    if index is None or not 0 <= index < len(districts):
        return LineAnswer(_("地区は一覧から選んでください。"), districts_page(draft, 0).actions)
    draft.district = districts[index]
    draft.save(update_fields=["district", "updated_at"])
    return _next_question(draft, language)


def _refused(draft: LineBookingDraft, exc: ReservationError) -> LineAnswer:
    """A refusal ends the booking being made; the user starts again from the resource."""
    code = draft.slot.resource.code
    draft.delete()
    return LineAnswer(exc.message, ((_("別の時間を選ぶ"), f"{PREFIX}r:{code}:0"), menu_button()))


def text_answer(draft: LineBookingDraft, text: str, language: str) -> LineAnswer:
    if draft.awaiting == "birth_date":
        birth_date = _birth_date(text)
        if birth_date is None:
            return LineAnswer(_("生年月日は 1980-04-01 の形で送ってください。"), (quit_button(),))
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
        return LineAnswer(_("お名前を100文字以内で送ってください。"), (quit_button(),))
    draft.name = name
    draft.save(update_fields=["name", "updated_at"])
    return _next_question(draft, language)


def booking_confirm(municipality: Municipality, line_user_id: str, language: str) -> LineAnswer:
    draft = draft_get(municipality, line_user_id)
    if draft is None:
        return no_draft()
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
            "name": resource_name(draft.slot.resource, language),
            "when": when_label(draft.slot, language),
            "place": draft.slot.resource.place,
            "number": receipt_number_display(booking.receipt_number),
            "secret": lookup_secret_display(result.secret),
        },
        ((_("予約の確認・取消し"), MY_POSTBACK), menu_button()),
    )


def booking_quit(municipality: Municipality, line_user_id: str) -> LineAnswer:
    LineBookingDraft.objects.filter(
        municipality=municipality, line_user_key=selectors.line_user_key(line_user_id)
    ).delete()
    return LineAnswer(_("予約の手続きをやめました。"), (menu_button(),))


def line_draft_leave(*, municipality: Municipality, line_user_id: str) -> None:
    """The user went elsewhere (another menu or button): drop the booking being made, so that
    a question typed next goes to the assistant and is not taken for a name."""
    if line_user_id:
        LineBookingDraft.objects.filter(
            municipality=municipality, line_user_key=selectors.line_user_key(line_user_id)
        ).delete()


def line_drafts_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the bookings in progress left for longer than half an hour; returns how many."""
    limit = (now or timezone.now()) - datetime.timedelta(minutes=DRAFT_MINUTES)
    deleted, _kinds = LineBookingDraft.objects.filter(updated_at__lt=limit).delete()
    return deleted
