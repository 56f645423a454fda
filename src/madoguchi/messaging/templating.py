"""{name}-style variables in message templates: the names allowed, checking and filling them."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Final

from django.utils.translation import gettext as _

from madoguchi.messaging.errors import MessagingError, MessagingErrorCode

__all__ = ["VARIABLES", "template_text_check", "template_text_fill"]

# The variables a template may use; each is filled per recipient group at send time.
VARIABLES: Final = ("municipality", "topic", "area")


def template_text_check(text: str) -> None:
    """Raise MessagingError when ``text`` uses an unknown variable or a broken brace."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise MessagingError(
            MessagingErrorCode.TEMPLATE_INVALID,
            _(
                "波かっこ { } の対応が正しくありません。"
                "文字として使うときは {{ と }} と書いてください。"
            ),
        ) from exc
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in VARIABLES or spec or conversion:
            raise MessagingError(
                MessagingErrorCode.TEMPLATE_INVALID,
                _("使えない差し込み項目 {%(name)s} があります。使えるのは %(allowed)s です。")
                % {"name": name, "allowed": "、".join("{" + v + "}" for v in VARIABLES)},
            )


def template_text_fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its variables filled; the text was checked when the template was saved."""
    return text.format_map({name: values.get(name, "") for name in VARIABLES})
