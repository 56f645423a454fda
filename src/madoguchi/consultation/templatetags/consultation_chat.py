"""Showing the assistant's messages in the web chat."""

from __future__ import annotations

from contextlib import nullcontext

from django import template
from django.conf import settings
from django.template.defaultfilters import linebreaksbr, urlize
from django.utils import translation
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from madoguchi.consultation.replies import Part, Reply, Typed
from madoguchi.core.templatetags.madoguchi import html_interpolate, typed_ja

register = template.Library()


def _text_html(text: str) -> str:
    """Links made clickable and line breaks kept; everything else escaped."""
    return linebreaksbr(urlize(text, autoescape=True), autoescape=True)


def _typed_html(text: str) -> str:
    """Typed data as ``_text_html``, marked lang="ja" when Japanese on a page in another
    language."""
    return typed_ja(_text_html(text))


def _part_html(part: Part) -> str:
    if isinstance(part, Typed):
        return _typed_html(part.text)
    if not part.values:
        return escape(_(part.msgid))
    values = {
        name: _typed_html(value.text) if isinstance(value, Typed) else escape(_(value.msgid))
        for name, value in part.values
    }
    return html_interpolate(_(part.msgid), **values)


def _reply_language(reply: Reply) -> translation.override | nullcontext[None]:
    """The language the reply was given in when the question chose it, else the page's."""
    languages = {code for code, _name in settings.LANGUAGES}
    return translation.override(reply.language) if reply.language in languages else nullcontext()


@register.filter
def reply_html(reply: Reply) -> SafeString:
    """The reply in the reader's language: its parts when it has them (our wording translated
    now, typed data as typed), else its stored text."""
    with _reply_language(reply):
        return _reply_html(reply)


def _reply_html(reply: Reply) -> SafeString:
    if not reply.parts:
        return mark_safe(_text_html(reply.text))  # noqa: S308 - escaped by _text_html
    separator = "" if (get_language() or "ja").startswith("ja") else " "
    # Each part is escaped HTML (format_html, escape, _text_html).
    return mark_safe(separator.join(_part_html(p) for p in reply.parts))  # noqa: S308


def _paragraph(css_class: str, html: str) -> str:
    return format_html('<p class="{}">{}</p>', css_class, mark_safe(html))  # noqa: S308


@register.filter
def reply_lead_html(reply: Reply) -> SafeString:
    """A reply with a direct answer: any note of ours, the direct answer, then the detail, each
    a paragraph of its own (our note in the reader's language, the answer as typed)."""
    with _reply_language(reply):
        return _reply_lead_html(reply)


def _reply_lead_html(reply: Reply) -> SafeString:
    blocks: list[str] = []
    if reply.parts:
        for part in reply.parts:
            if isinstance(part, Typed):
                css = "chat__lead" if part.text == reply.lead else "chat__text chat__detail"
            else:
                css = "chat__note"
            blocks.append(_paragraph(css, _part_html(part)))
    else:  # stored without parts: split the stored text around the direct answer
        before, after = reply.lead_parts
        if before:
            blocks.append(_paragraph("chat__note", _text_html(before)))
        blocks.append(_paragraph("chat__lead", _text_html(reply.lead)))
        if after:
            blocks.append(_paragraph("chat__text chat__detail", _text_html(after)))
    return mark_safe("".join(blocks))  # noqa: S308 - each block built with format_html
