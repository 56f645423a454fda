"""The consultation app's English catalogue is complete, compiled and keeps placeholders."""

from __future__ import annotations

import gettext
from pathlib import Path

from tests.test_locale import parse_po, placeholders

MESSAGES = Path(__file__).resolve().parents[2] / "src/madoguchi/consultation/locale/en/LC_MESSAGES"


def test_every_message_is_translated_compiled_and_keeps_its_placeholders() -> None:
    entries = [e for e in parse_po((MESSAGES / "django.po").read_text("utf-8")) if not e.is_header]
    assert len(entries) > 150
    with (MESSAGES / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in entries:
        assert "fuzzy" not in entry.flags, entry.msgid
        for index, text in entry.msgstr.items():
            assert text.strip(), entry.msgid
            source = entry.msgid_plural if index and entry.msgid_plural else entry.msgid
            assert placeholders(text) == placeholders(source), entry.msgid
        if entry.msgid_plural is None:
            assert compiled.gettext(entry.msgid) == entry.msgstr[0]
