"""The platform operator's changes to bodies: add from the 団体コード list, URL name, serving."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.checkdigits import lgcode_with_check_digit
from madoguchi.core.japanese import normalize_digits, normalize_for_search
from madoguchi.tenants.errors import TenantError, TenantErrorCode
from madoguchi.tenants.models import RESERVED_SLUGS, Municipality, MunicipalitySlugAlias
from madoguchi.tenants.services import LgCodeRow, lgcode_rows, municipalities_load

__all__ = [
    "BodyCandidate",
    "body_search",
    "lgcode_kana",
    "municipality_add",
    "municipality_set_active",
    "municipality_slug_change",
    "slug_suggest",
    "slug_validate",
]

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 40


@cache
def lgcode_kana() -> dict[str, str]:
    """Katakana readings by 6-digit code (LG_CODE_kana.csv: dictionary readings, see LICENSE)."""
    path = resources.files("madoguchi.tenants").joinpath("data/LG_CODE_kana.csv")
    records = csv.DictReader(path.read_text("utf-8").splitlines())
    return {lgcode_with_check_digit(r["lgcode"]): r["kana"] for r in records}


@dataclass(frozen=True, slots=True)
class BodyCandidate:
    code: str
    name: str
    kana: str
    parent_name: str
    added: Municipality | None


def body_search(*, query: str, limit: int = 30) -> list[BodyCandidate]:
    """Bodies of the bundled list whose name, reading (hiragana or katakana) or code match."""
    key = normalize_for_search(query)
    if not key:
        return []
    digits = normalize_digits(query).strip()
    rows = lgcode_rows()
    kana = lgcode_kana()
    found: list[LgCodeRow] = []
    for row in rows.values():
        reading = kana.get(row.code, "")
        if (
            (digits.isdigit() and row.code.startswith(digits))
            or key in normalize_for_search(row.name)
            or (reading and key in reading)
        ):
            found.append(row)
        if len(found) >= limit:
            break
    added = {m.code: m for m in Municipality.objects.filter(code__in=[r.code for r in found])}
    return [
        BodyCandidate(
            code=row.code,
            name=row.name,
            kana=kana.get(row.code, ""),
            parent_name=rows[row.parent_code].name if row.parent_code in rows else "",
            added=added.get(row.code),
        )
        for row in found
    ]


_ROMAJI = {
    **dict(zip("アイウエオ", ["a", "i", "u", "e", "o"], strict=True)),
    **dict(zip("カキクケコ", ["ka", "ki", "ku", "ke", "ko"], strict=True)),
    **dict(zip("サシスセソ", ["sa", "shi", "su", "se", "so"], strict=True)),
    **dict(zip("タチツテト", ["ta", "chi", "tsu", "te", "to"], strict=True)),
    **dict(zip("ナニヌネノ", ["na", "ni", "nu", "ne", "no"], strict=True)),
    **dict(zip("ハヒフヘホ", ["ha", "hi", "fu", "he", "ho"], strict=True)),
    **dict(zip("マミムメモ", ["ma", "mi", "mu", "me", "mo"], strict=True)),
    **dict(zip("ヤユヨ", ["ya", "yu", "yo"], strict=True)),
    **dict(zip("ラリルレロ", ["ra", "ri", "ru", "re", "ro"], strict=True)),
    **dict(zip("ワヲン", ["wa", "o", "n"], strict=True)),
    **dict(zip("ガギグゲゴ", ["ga", "gi", "gu", "ge", "go"], strict=True)),
    **dict(zip("ザジズゼゾ", ["za", "ji", "zu", "ze", "zo"], strict=True)),
    **dict(zip("ダヂヅデド", ["da", "ji", "zu", "de", "do"], strict=True)),
    **dict(zip("バビブベボ", ["ba", "bi", "bu", "be", "bo"], strict=True)),
    **dict(zip("パピプペポ", ["pa", "pi", "pu", "pe", "po"], strict=True)),
    "ヴ": "vu",
}
_SMALL = {"ャ": "ya", "ュ": "yu", "ョ": "yo", "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o"}
_SUFFIXES = ("チョウ", "マチ", "ムラ", "ソン", "シ", "ク", "ト", "ドウ", "フ", "ケン", "グン")


def _romaji(kana: str) -> str:
    out: list[str] = []
    double_next = False
    for char in kana:
        if char == "ッ":
            double_next = True
            continue
        if char in _SMALL and out:
            previous = out.pop()
            stem = previous[:-1] if previous.endswith("i") else previous
            if stem in {"sh", "ch", "j"}:
                out.append(stem + _SMALL[char][-1])
            else:
                out.append(stem + _SMALL[char])
            continue
        if char == "ー":
            continue
        syllable = _ROMAJI.get(char, "")
        if double_next and syllable:
            syllable = ("t" if syllable.startswith("ch") else syllable[0]) + syllable
        double_next = False
        out.append(syllable)
    text = "".join(out)
    # Place names are written without long vowels (Kōbe -> kobe, Ōsaka -> osaka).
    for long, short in (("ou", "o"), ("oo", "o"), ("uu", "u")):
        text = text.replace(long, short)
    return text


def slug_suggest(*, code: str) -> str:
    """A romaji URL name proposed from the body's reading (佐用町 サヨウチョウ -> sayo)."""
    kana = lgcode_kana().get(code, "")
    for suffix in _SUFFIXES:
        if kana.endswith(suffix) and len(kana) > len(suffix) + 1:
            kana = kana[: -len(suffix)]
            break
    slug = _romaji(kana)[:SLUG_MAX]
    return slug if SLUG_PATTERN.fullmatch(slug) and slug not in RESERVED_SLUGS else code


def slug_validate(*, slug: str, municipality: Municipality | None = None) -> str:
    """The URL name, or TenantError: romaji letters, digits and hyphens, free and not reserved."""
    slug = slug.strip()
    if not (SLUG_PATTERN.fullmatch(slug) and len(slug) <= SLUG_MAX):
        raise TenantError(
            TenantErrorCode.SLUG_INVALID,
            _(
                "URL名は半角の英小文字・数字とハイフン（-）で、%(max)d文字以内で入力してください"
                "（例：sayo）。"
            )
            % {"max": SLUG_MAX},
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise TenantError(
            TenantErrorCode.SLUG_RESERVED,
            _("「%(slug)s」はサイトの予約語のため、URL名に使えません。") % {"slug": slug},
            field="slug",
        )
    others = Municipality.objects.filter(slug=slug)
    aliases = MunicipalitySlugAlias.objects.filter(slug=slug)
    if municipality is not None:
        others = others.exclude(pk=municipality.pk)
        aliases = aliases.exclude(municipality=municipality)
    if others.exists() or aliases.exists():
        raise TenantError(
            TenantErrorCode.SLUG_TAKEN,
            _("URL名「%(slug)s」はほかの団体が使っています（または以前使っていました）。")
            % {"slug": slug},
            field="slug",
        )
    return slug


@transaction.atomic
def municipality_add(*, code: str, slug: str, activate: bool, actor: AuditActor) -> Municipality:
    """Add a body of the bundled list under the URL name ``slug`` (its parents come too)."""
    if code not in lgcode_rows():
        raise TenantError(
            TenantErrorCode.UNKNOWN_CODE,
            _("団体コード「%(code)s」は一覧にありません。") % {"code": code},
            field="code",
        )
    existing = Municipality.objects.filter(code=code).first()
    if existing is not None and (existing.is_active or existing.slug != existing.code):
        raise TenantError(
            TenantErrorCode.ALREADY_ADDED,
            _("%(name)sはすでに追加されています。") % {"name": existing.name},
            field="code",
        )
    slug = slug_validate(slug=slug, municipality=existing)
    [municipality] = municipalities_load(codes=[code], activate=False, actor=actor)
    municipality.slug = slug
    municipality.name_kana = municipality.name_kana or lgcode_kana().get(code, "")
    municipality.is_active = activate
    municipality.save(update_fields=["slug", "name_kana", "is_active"])
    audit_event(
        municipality=None,
        action="municipality.add",
        actor=actor,
        obj=municipality,
        data={"code": code, "slug": slug, "active": activate},
    )
    return municipality


@transaction.atomic
def municipality_slug_change(
    *, municipality: Municipality, slug: str, actor: AuditActor
) -> Municipality:
    """Give the body a new URL name; the old one keeps answering with a redirect."""
    municipality = Municipality.objects.select_for_update().get(pk=municipality.pk)
    slug = slug_validate(slug=slug, municipality=municipality)
    old = municipality.slug
    if slug == old:
        return municipality
    # Back to a name it used before: that name is no longer an alias.
    MunicipalitySlugAlias.objects.filter(municipality=municipality, slug=slug).delete()
    MunicipalitySlugAlias.objects.create(municipality=municipality, slug=old)
    municipality.slug = slug
    municipality.save(update_fields=["slug"])
    audit_event(
        municipality=None,
        action="municipality.slug_change",
        actor=actor,
        obj=municipality,
        data={"from": old, "to": slug},
    )
    return municipality


@transaction.atomic
def municipality_set_active(
    *, municipality: Municipality, active: bool, actor: AuditActor
) -> Municipality:
    """Start serving the body (its pages answer) or retire it (they answer 404); data is kept."""
    municipality = Municipality.objects.select_for_update().get(pk=municipality.pk)
    if municipality.is_active != active:
        municipality.is_active = active
        municipality.save(update_fields=["is_active"])
        audit_event(
            municipality=None,
            action="municipality.activate" if active else "municipality.retire",
            actor=actor,
            obj=municipality,
            data={"slug": municipality.slug},
        )
    return municipality
