"""The open-data app's own English catalogue is complete, compiled and keeps its placeholders."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from tests.test_locale import Entry, parse_po, placeholders

MESSAGES = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "madoguchi"
    / "opendata"
    / "locale"
    / "en"
    / "LC_MESSAGES"
)
ENTRIES = [e for e in parse_po((MESSAGES / "django.po").read_text("utf-8")) if not e.is_header]


def test_the_catalogue_is_read() -> None:
    assert len(ENTRIES) > 100


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"line{e.line}" for e in ENTRIES])
def test_every_entry_is_translated_compiled_and_keeps_placeholders(entry: Entry) -> None:
    assert "fuzzy" not in entry.flags
    compiled = gettext.GNUTranslations((MESSAGES / "django.mo").open("rb"))
    sources = {0: entry.msgid, 1: entry.msgid_plural or entry.msgid}
    for index, text in entry.msgstr.items():
        assert text.strip(), f"untranslated: {entry.msgid!r}"
        assert placeholders(text) == placeholders(sources[index])
    if entry.msgid_plural is None:
        got = (
            compiled.pgettext(entry.msgctxt, entry.msgid)
            if entry.msgctxt
            else compiled.gettext(entry.msgid)
        )
        assert got == entry.msgstr[0], "django.mo is stale: recompile it with msgfmt"
