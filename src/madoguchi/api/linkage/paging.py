"""Cursor paging by id for the linkage API's lists (oldest first, ``next_cursor`` to go on)."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from madoguchi.api.errors import field_invalid

M = TypeVar("M", bound=Model)


def _after(kind: str, cursor: str) -> int:
    """The id a cursor of ``kind`` stands for; 422 ``cursor_invalid`` for anything else."""
    try:
        value = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
        found, _sep, number = value.partition(":")
        if found != kind or not number.isdigit() or len(number) > 18:
            raise ValueError(cursor)
        return int(number)
    except (ValueError, UnicodeError, binascii.Error):
        raise field_invalid(
            "cursor",
            "cursor_invalid",
            _("cursor は前の応答の next_cursor をそのまま渡してください。"),
        ) from None


def _cursor_of(kind: str, pk: Any) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode("ascii")).decode("ascii").rstrip("=")


def page_by_id(
    found: QuerySet[M], *, kind: str, cursor: str, limit: int
) -> tuple[list[M], str | None]:
    """Up to ``limit`` rows of ``found`` (ordered by id) after ``cursor``, and the next cursor."""
    if cursor:
        found = found.filter(pk__gt=_after(kind, cursor))
    page = list(found[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (_cursor_of(kind, page[-1].pk) if more else None)
