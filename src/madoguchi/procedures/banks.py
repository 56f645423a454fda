"""The bank and branch master (全銀協 codes, from the ``zengin-code`` package): names for codes,
and search by name or reading, so that residents choose their bank by the name they know.

The package loads the whole master (about 1,100 banks and 29,000 branches, some 30 MB) when it
is first imported; that happens here on first use, not at start-up. The matching forms of a
bank's branches are built when that bank is first asked about.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Final, TypeVar

from madoguchi.core.japanese import normalize_text, to_katakana

MAX_RESULTS: Final = 20
_JAPAN_POST_BANK: Final = "9900"
# Codes below 1000 are banks, whose master names leave out 「銀行」 (みずほ, 三井住友 …);
# 信用金庫, 信用組合 and the others carry their short form (北海道信金) already.
_BANK_CODE_LIMIT: Final = "1000"
_BRANCH_ENDINGS: Final = ("店", "所", "部", "センター", "出張所", "支社")
# Small kana are written large in the master's readings (ミツビシユ－エフジエイ).
_LARGE_KANA: Final = str.maketrans(
    {
        "ァ": "ア",
        "ィ": "イ",
        "ゥ": "ウ",
        "ェ": "エ",
        "ォ": "オ",
        "ッ": "ツ",
        "ャ": "ヤ",
        "ュ": "ユ",
        "ョ": "ヨ",
        "ヮ": "ワ",
        "ヵ": "カ",
        "ヶ": "ケ",
        "ー": "-",
        "－": "-",
        "‐": "-",
        " ": "",
        "　": "",
        "・": "",
    }
)
# Words residents add that the master leaves out, in writing and in reading.
_SUFFIXES: Final = ("銀行", "ギンコウ", "支店", "シテン", "店")
_LONG_FORMS: Final = (
    ("信用金庫", "信金"),
    ("シンヨウキンコ", "シンキン"),
    ("信用組合", "信組"),
    ("シンヨウクミアイ", "シンクミ"),
)


@dataclass(frozen=True, slots=True)
class BankEntry:
    code: str
    name: str
    display: str


@dataclass(frozen=True, slots=True)
class BranchEntry:
    code: str
    name: str
    display: str


def _fold(text: str) -> str:
    """A form for matching: NFKC, katakana, large kana, no spaces, ASCII upper case."""
    folded = to_katakana(unicodedata.normalize("NFKC", normalize_text(text))).upper()
    return folded.translate(_LARGE_KANA)


def _query_forms(query: str) -> tuple[str, ...]:
    folded = _fold(query)
    for long, short in _LONG_FORMS:
        folded = folded.replace(long, short)
    forms = {folded}
    for suffix in _SUFFIXES:
        if folded.endswith(suffix) and len(folded) > len(suffix):
            forms.add(folded[: -len(suffix)])
    return tuple(sorted(form for form in forms if form))


def bank_display_name(code: str, name: str) -> str:
    if code < _BANK_CODE_LIMIT or code == _JAPAN_POST_BANK:
        return f"{name}銀行"
    return name


def branch_display_name(bank_code: str, name: str) -> str:
    if bank_code == _JAPAN_POST_BANK:
        return f"{name}店"  # its branches are named by number: 〇一八店
    return name if name.endswith(_BRANCH_ENDINGS) else f"{name}支店"


@dataclass(frozen=True, slots=True)
class _Indexed:
    """A bank or branch with the folded forms of its name and readings."""

    code: str
    forms: tuple[str, ...]


_T = TypeVar("_T", bound="_Indexed")


@dataclass(frozen=True, slots=True)
class _Branch(_Indexed):
    entry: BranchEntry


@dataclass(frozen=True, slots=True)
class _Bank(_Indexed):
    entry: BankEntry


@functools.cache
def _master() -> dict[str, _Bank]:
    """Every bank, by bank code (branches are indexed per bank, when first needed)."""
    from zengin_code import Bank  # the import loads the master

    return {
        str(code): _Bank(
            code=str(code),
            forms=(_fold(bank.name), _fold(bank.kana), _fold(bank.hira), str(bank.roma).upper()),
            entry=BankEntry(str(code), str(bank.name), bank_display_name(code, str(bank.name))),
        )
        for code, bank in Bank.all.items()
    }


@functools.lru_cache(maxsize=256)
def _branches(bank_code: str) -> dict[str, _Branch]:
    """The branches of one bank, by branch code ({} for an unknown bank)."""
    if bank_code not in _master():
        return {}
    from zengin_code import Bank

    return {
        str(code): _Branch(
            code=str(code),
            forms=(_fold(branch.name), _fold(branch.kana), _fold(branch.hira)),
            entry=BranchEntry(
                str(code), str(branch.name), branch_display_name(bank_code, str(branch.name))
            ),
        )
        for code, branch in Bank[bank_code].branches.items()
    }


def bank_get(code: str) -> BankEntry | None:
    """The bank with this 4-digit code, or None."""
    found = _master().get(code)
    return found.entry if found is not None else None


def branch_get(bank_code: str, branch_code: str) -> BranchEntry | None:
    """The branch with this 3-digit code of the bank, or None."""
    branch = _branches(bank_code).get(branch_code)
    return branch.entry if branch is not None else None


def _matching(items: list[_T], query: str) -> list[_T]:
    """Items whose code is ``query`` first, then names beginning with it, then containing it."""
    forms = _query_forms(query)
    if not forms:
        return []
    ranked: list[tuple[int, str, _T]] = []
    for item in items:
        if item.code == query.strip():
            ranked.append((0, item.code, item))
        elif any(name == form for name in item.forms for form in forms):
            ranked.append((1, item.code, item))
        elif any(name.startswith(form) for name in item.forms for form in forms):
            ranked.append((2, item.code, item))
        elif any(form in name for name in item.forms for form in forms):
            ranked.append((3, item.code, item))
    ranked.sort(key=lambda match: (match[0], match[1]))
    return [item for _rank, _code, item in ranked[:MAX_RESULTS]]


def bank_search(query: str) -> list[BankEntry]:
    """Banks whose name or reading contains ``query`` (beginnings first), at most 20."""
    return [bank.entry for bank in _matching(list(_master().values()), query)]


def branch_search(bank_code: str, query: str) -> list[BranchEntry]:
    """Branches of the bank whose name or reading contains ``query``, at most 20."""
    return [branch.entry for branch in _matching(list(_branches(bank_code).values()), query)]
