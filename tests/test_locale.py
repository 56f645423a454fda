"""The English catalogue is complete, compiled, and keeps every placeholder of its Japanese msgid.

The .po is read with a small stdlib-only parser (no polib, no Django) and the committed .mo is
read with gettext.GNUTranslations, so the suite fails if either is edited without the other.
Recompile after editing the .po:

    cd src/madoguchi && msgfmt --check -o locale/en/LC_MESSAGES/django.mo \
        locale/en/LC_MESSAGES/django.po
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "src" / "madoguchi" / "locale" / "en" / "LC_MESSAGES"
PO = MESSAGES / "django.po"
MO = MESSAGES / "django.mo"

_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")
_CONTINUATION = re.compile(r"^(\".*\")\s*$")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}

# %(name)s, %(minutes)d, %(n)5.2f ... and the positional %d, %s, %5.1f ...; %% is not one.
_NAMED = re.compile(r"%\([^)]*\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_POSITIONAL = re.compile(r"%(?!\()[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None


def _unquote(quoted: str, lineno: int) -> str:
    if len(quoted) < 2 or not (quoted.startswith('"') and quoted.endswith('"')):
        raise ValueError(f"{PO.name}:{lineno}: malformed string {quoted!r}")

    def replace(match: re.Match[str]) -> str:
        char = match.group(1)
        if char not in _ESCAPES:
            raise ValueError(f"{PO.name}:{lineno}: unknown escape \\{char}")
        return _ESCAPES[char]

    return _ESCAPE.sub(replace, quoted[1:-1])


def parse_po(text: str) -> list[Entry]:
    """Entries of a .po file, header included, obsolete (#~) entries left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    pending_flags: set[str] = set()
    target: tuple[str, int] | None = None  # ("msgid" | "msgstr" | ..., plural index)
    last_keyword = ""

    def start(lineno: int) -> Entry:
        nonlocal pending_flags
        new = Entry(line=lineno, flags=pending_flags)
        pending_flags = set()
        entries.append(new)
        return new

    def append(current: Entry, key: tuple[str, int], value: str) -> None:
        name, index = key
        if name == "msgstr":
            current.msgstr[index] = current.msgstr.get(index, "") + value
        else:
            setattr(current, name, (getattr(current, name) or "") + value)

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target, last_keyword = None, None, ""
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            pending_flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        if match := _KEYWORD.match(line):
            keyword, index, quoted = match.group(1), match.group(2), match.group(3)
            # A new entry begins at msgctxt, or at msgid unless msgctxt just opened one.
            begins = keyword == "msgctxt" or (keyword == "msgid" and last_keyword != "msgctxt")
            if entry is None or begins:
                entry = start(lineno)
            name = "msgstr" if keyword.startswith("msgstr") else keyword
            target = (name, int(index) if index is not None else 0)
            if name != "msgstr":
                setattr(entry, name, "")
            append(entry, target, _unquote(quoted, lineno))
            last_keyword = keyword
            continue
        if (match := _CONTINUATION.match(line)) and entry is not None and target is not None:
            append(entry, target, _unquote(match.group(1), lineno))
            continue
        raise ValueError(f"{PO.name}:{lineno}: cannot parse {raw!r}")
    return entries


ALL_ENTRIES = parse_po(PO.read_text("utf-8"))
HEADER = next(entry for entry in ALL_ENTRIES if entry.is_header)
ENTRIES = [entry for entry in ALL_ENTRIES if not entry.is_header]
IDS = [f"line{entry.line}" for entry in ENTRIES]


def placeholders(text: str) -> tuple[list[str], list[str]]:
    """Named placeholders in any order, positional ones in the order they are filled."""
    without_percent = text.replace("%%", "")
    return sorted(_NAMED.findall(without_percent)), _POSITIONAL.findall(without_percent)


def test_the_parser_reads_the_whole_catalogue() -> None:
    assert len(ENTRIES) > 100
    assert sum(entry.msgid_plural is not None for entry in ENTRIES) >= 1
    assert len({(entry.msgctxt, entry.msgid) for entry in ENTRIES}) == len(ENTRIES)


def test_the_parser_handles_multiline_and_plural_entries() -> None:
    sample = (
        '#, fuzzy, python-format\nmsgid ""\n"一行目"\n"%(n)s 件"\nmsgid_plural "%(n)s 件"\n'
        'msgstr[0] ""\n"one \\"quoted\\" "\n"%(n)s"\nmsgstr[1] "%(n)s\\n"\n\n'
        '#~ msgid "古い"\n#~ msgstr "old"\n'
    )
    [entry] = parse_po(sample)
    assert entry.flags == {"fuzzy", "python-format"}
    assert entry.msgid == "一行目%(n)s 件"
    assert entry.msgid_plural == "%(n)s 件"
    assert entry.msgstr == {0: 'one "quoted" %(n)s', 1: "%(n)s\n"}


def test_the_header_declares_english_and_its_plural_rule() -> None:
    header = HEADER.msgstr[0]
    assert "fuzzy" not in HEADER.flags
    assert "Language: en\n" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in header
    assert "Content-Type: text/plain; charset=UTF-8\n" in header


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_every_entry_is_translated_and_not_fuzzy(entry: Entry) -> None:
    assert "fuzzy" not in entry.flags, f"fuzzy: {entry.msgid!r}"
    expected = [0, 1] if entry.msgid_plural is not None else [0]
    assert sorted(entry.msgstr) == expected, f"msgstr forms of {entry.msgid!r}"
    for index, text in entry.msgstr.items():
        assert text.strip(), f"untranslated msgstr[{index}]: {entry.msgid!r}"


@pytest.fixture(scope="module")
def compiled() -> gettext.GNUTranslations:
    with MO.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def test_the_compiled_header_matches(compiled: gettext.GNUTranslations) -> None:
    info = compiled.info()
    assert info["language"] == "en"
    assert info["plural-forms"] == "nplurals=2; plural=(n != 1);"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_mo_returns_the_po_translation(compiled: gettext.GNUTranslations, entry: Entry) -> None:
    context = entry.msgctxt
    if entry.msgid_plural is None:
        if context is None:
            got = compiled.gettext(entry.msgid)
        else:
            got = compiled.pgettext(context, entry.msgid)
        assert got == entry.msgstr[0], "django.mo is stale: recompile it with msgfmt"
        return
    for n, index in ((1, 0), (2, 1), (0, 1)):
        if context is None:
            got = compiled.ngettext(entry.msgid, entry.msgid_plural, n)
        else:
            got = compiled.npgettext(context, entry.msgid, entry.msgid_plural, n)
        assert got == entry.msgstr[index], f"django.mo is stale (n={n}): recompile it"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_placeholders_survive_translation(entry: Entry) -> None:
    sources = {0: entry.msgid, 1: entry.msgid_plural if entry.msgid_plural else entry.msgid}
    for index, text in entry.msgstr.items():
        source = sources[index]
        assert placeholders(text) == placeholders(source), (
            f"placeholders differ in msgstr[{index}]: {source!r} -> {text!r}"
        )


def test_placeholder_scan() -> None:
    assert placeholders("%(minutes)d分後、%(name)s さん 100%% %d %s") == (
        ["%(minutes)d", "%(name)s"],
        ["%d", "%s"],
    )
    assert placeholders("Page %(total)s / %(n)s") == (["%(n)s", "%(total)s"], [])
