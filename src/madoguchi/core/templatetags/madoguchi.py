"""Template helpers shared by every app."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone

from madoguchi.core.wareki import format_wareki

register = template.Library()


@register.filter
def wareki(value: datetime.date | datetime.datetime | None) -> str:
    """The 和暦 form of a date, e.g. 令和8年11月26日 (empty for None)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_wareki(value)
