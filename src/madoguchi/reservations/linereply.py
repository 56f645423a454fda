"""What the LINE replies of booking share: the answer type, labels, buttons and paging.

A LINE message holds at most 13 quick replies and a label at most 20 characters.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor
from madoguchi.reservations.models import Resource, Slot

__all__ = [
    "LINE_ACTOR",
    "MENU_POSTBACK",
    "MY_POSTBACK",
    "PREFIX",
    "QUICK_REPLIES",
    "Action",
    "LineAnswer",
    "day_label",
    "int_or_none",
    "menu_button",
    "paged",
    "quit_button",
    "resource_name",
    "short_when",
    "when_label",
]

PREFIX: Final = "reservations:"
MENU_POSTBACK: Final = "reservations:menu"
MY_POSTBACK: Final = "reservations:my"
LINE_ACTOR: Final = AuditActor(label="line")
QUICK_REPLIES: Final = 13
_WEEKDAYS_JA: Final = "月火水木金土日"
_WEEKDAYS_EN: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Action = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LineAnswer:
    text: str
    actions: tuple[Action, ...] = ()  # (label, postback data)


def resource_name(resource: Resource, language: str) -> str:
    return (language == "en" and resource.name_en) or resource.name


def day_label(day: datetime.date, language: str) -> str:
    if language == "en":
        return f"{_WEEKDAYS_EN[day.weekday()]} {day.month}/{day.day}"
    return f"{day.month}/{day.day}({_WEEKDAYS_JA[day.weekday()]})"


def when_label(slot: Slot, language: str) -> str:
    start = timezone.localtime(slot.starts_at)
    return f"{day_label(start.date(), language)} {start:%H:%M}"


def short_when(slot: Slot) -> str:
    """12/7 09:00: fits a button label (20 characters) with a word before it."""
    start = timezone.localtime(slot.starts_at)
    return f"{start.month}/{start.day} {start:%H:%M}"


def paged(
    items: list[Action], page: int, more: Callable[[int], str], tail: tuple[Action, ...]
) -> tuple[Action, ...]:
    """One page of ``items`` with 「次へ」 when more follow, then the fixed ``tail`` buttons."""
    room = QUICK_REPLIES - len(tail) - 1
    page = max(page, 0)
    chunk = items[page * room : (page + 1) * room]
    actions = list(chunk)
    if (page + 1) * room < len(items):
        actions.append((_("次へ"), more(page + 1)))
    return (*actions, *tail)


def int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 12 else None


def menu_button() -> Action:
    return (_("予約メニュー"), MENU_POSTBACK)


def quit_button() -> Action:
    return (_("やめる"), f"{PREFIX}quit")
