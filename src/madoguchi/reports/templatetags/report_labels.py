"""``{{ report.category|label }}``: a category's or area's name in the page's language."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from madoguchi.reports.models import ReportArea, ReportCategory

register = template.Library()


@register.filter
def label(value: ReportCategory | ReportArea | None) -> str:
    """The English name on English pages when one is set, else the Japanese one."""
    if value is None:
        return ""
    return value.label(get_language() or "ja")
