"""Each app's own English catalogue is complete, compiled and keeps its placeholders.

Larger apps keep their messages in ``<app>/locale``; the main catalogue is tested in
test_locale.py, whose parser this reuses.
"""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from tests.test_locale import Entry, parse_po, placeholders

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "madoguchi"
CATALOGUES = sorted(PACKAGE.glob("*/locale/en/LC_MESSAGES"))
CASES = [
    (folder, entry)
    for folder in CATALOGUES
    for entry in parse_po((folder / "django.po").read_text("utf-8"))
    if not entry.is_header
]


def test_the_app_catalogues_are_found_and_read() -> None:
    apps = {folder.parents[2].name for folder in CATALOGUES}
    assert {"consultation", "opendata", "surveillance"} <= apps
    for app in apps:
        assert sum(1 for folder, _ in CASES if folder.parents[2].name == app) > 20, app


@pytest.mark.parametrize(
    ("folder", "entry"),
    CASES,
    ids=[f"{folder.parents[2].name}-line{entry.line}" for folder, entry in CASES],
)
def test_every_entry_is_translated_compiled_and_keeps_placeholders(
    folder: Path, entry: Entry
) -> None:
    assert "fuzzy" not in entry.flags
    with (folder / "django.mo").open("rb") as compiled_file:
        compiled = gettext.GNUTranslations(compiled_file)
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
