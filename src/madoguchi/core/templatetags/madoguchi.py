"""Template helpers shared by every app."""

from __future__ import annotations

import datetime
import re

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import get_language

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


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


@register.filter
def typed_ja(value: object) -> str:
    """Text someone typed (a municipality's data, a resident's answer), marked ``lang="ja"``
    when it is Japanese on a page that is not: screen readers then read it as Japanese
    (WCAG 3.1.2), and the English-completeness test tells it from untranslated fixed text."""
    text = "" if value is None else str(value)
    if not text or (get_language() or "ja").startswith("ja") or not _JAPANESE.search(text):
        return text
    return format_html('<span lang="ja">{}</span>', text)


def html_interpolate(pattern: str, **values: object) -> str:
    """``pattern % values`` (a translated ``%(name)s`` pattern) as HTML: the pattern and plain
    values are escaped, values already HTML (``typed_ja``) are kept."""
    braces = pattern.replace("{", "{{").replace("}", "}}")
    return format_html(braces % {key: "{" + key + "}" for key in values}, **values)


def _in_language(obj: object, field: str) -> str:
    if (get_language() or "ja").startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return str(english)
    return str(getattr(obj, f"{field}_ja", "") or "")


@register.filter
def local_text(obj: object, field: str) -> str:
    """``obj.<field>_en`` on an English page when it is filled in, else ``obj.<field>_ja``
    (plain text, for <title> and attributes)."""
    return _in_language(obj, field)


@register.filter
def local(obj: object, field: str) -> str:
    """``local_text`` marked with ``typed_ja`` (a fallback to Japanese says so)."""
    return typed_ja(_in_language(obj, field))


def _local_date(value: datetime.date | datetime.datetime | None, with_time: bool) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    machine = value.isoformat()
    japanese = (get_language() or "ja").startswith("ja")
    if japanese:
        shown = date_format(value, "Y年n月j日 H:i" if with_time else "Y年n月j日")
        return format_html(
            '<time datetime="{}">{}</time> <span class="wareki">（{}）</span>',
            machine,
            shown,
            wareki(value),
        )
    shown = date_format(value, "j F Y, H:i" if with_time else "j F Y")
    return format_html('<time datetime="{}">{}</time>', machine, shown)


@register.filter
def local_date(value: datetime.date | datetime.datetime | None) -> str:
    """A date for residents: 2026年12月6日 （令和8年12月6日） on a Japanese page, 6 December
    2026 on an English one (和暦 means nothing to a reader of English)."""
    return _local_date(value, with_time=False)


@register.filter
def local_datetime(value: datetime.datetime | None) -> str:
    """``local_date`` with the time of day."""
    return _local_date(value, with_time=True)


@register.filter
def local_day(value: datetime.date | datetime.datetime | None) -> str:
    """A date as plain text: 2026年12月6日 on a Japanese page, 6 December 2026 otherwise."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    japanese = (get_language() or "ja").startswith("ja")
    return date_format(value, "Y年n月j日" if japanese else "j F Y")
