"""Receipt numbers on pages, written as the resident reads them on the receipt and status pages."""

from __future__ import annotations

from django import template

from madoguchi.procedures.receipts import receipt_number_display

register = template.Library()


@register.filter
def receipt_display(number: str) -> str:
    """``1234567890`` → ``12345-67890``: the same hyphenation the resident was given."""
    return receipt_number_display(str(number)) if number else ""
