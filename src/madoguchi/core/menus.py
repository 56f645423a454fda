"""One registry for every menu: staff console, platform operators and the residents' top page.

Each app declares its entries in ``<app>/menu.py`` with the permission that opens them, by
calling :func:`register`; :class:`madoguchi.core.apps.CoreConfig` imports every such module at
start-up (``autodiscover_modules("menu")``). The pages ask :func:`staff_entries`,
:func:`platform_entries` and :func:`public_services` for what to show.

An entry's ``allowed`` (or ``enabled``) callable must answer exactly as the page's own check
does, so that a menu never shows a link that answers 403 and never hides a page that opens;
``tests/core/test_menus.py`` walks the URLconf as every role to hold that.

``core`` imports no other app of the project: the parameter types of the callables are imported
for the type checker only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.accounts.permissions import StaffContext
    from madoguchi.tenants.models import Municipality

__all__ = [
    "SECTIONS",
    "MenuLink",
    "MenuSection",
    "PlatformMenuEntry",
    "PublicService",
    "PublicServiceEntry",
    "StaffMenuEntry",
    "platform_entries",
    "public_services",
    "register",
    "staff_entries",
    "staff_sections",
]

Label = str | Promise

# Sections of the staff menu, in the order they are shown. An entry naming another section is
# shown after these, under its key.
SECTIONS: dict[str, Label] = {
    "work": _("業務"),
    "clinic": _("医療機関"),
    "health": _("保健所"),
    "consultation": _("相談・チャット"),
    "opendata": _("オープンデータ"),
    "messaging": _("お知らせ配信"),
    "admin": _("管理"),
}


@dataclass(frozen=True, slots=True)
class StaffMenuEntry:
    """A page of the staff console, reversed with ``municipality_slug``."""

    key: str
    label: Label
    url_name: str
    allowed: Callable[[StaffContext], bool]
    section: str = "work"
    order: int = 100
    query: str = ""


@dataclass(frozen=True, slots=True)
class PlatformMenuEntry:
    """A page for platform operators, reversed without arguments."""

    key: str
    label: Label
    url_name: str
    allowed: Callable[[User], bool]
    order: int = 100


@dataclass(frozen=True, slots=True)
class PublicServiceEntry:
    """A service for residents, listed on the municipality's top page when ``enabled``."""

    key: str
    label: Label
    description: Label
    url_name: str
    enabled: Callable[[Municipality], bool]
    order: int = 100


@dataclass(frozen=True, slots=True)
class MenuLink:
    key: str
    label: Label
    url: str


@dataclass(frozen=True, slots=True)
class MenuSection:
    key: str
    label: Label
    links: list[MenuLink] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PublicService:
    key: str
    label: Label
    description: Label
    url: str


Entry = StaffMenuEntry | PlatformMenuEntry | PublicServiceEntry

_staff: dict[str, StaffMenuEntry] = {}
_platform: dict[str, PlatformMenuEntry] = {}
_public: dict[str, PublicServiceEntry] = {}


def register(*entries: Entry) -> None:
    """Add entries to the registry; an entry with a key already registered replaces it."""
    for entry in entries:
        if isinstance(entry, StaffMenuEntry):
            _staff[entry.key] = entry
        elif isinstance(entry, PlatformMenuEntry):
            _platform[entry.key] = entry
        else:
            _public[entry.key] = entry


_E = TypeVar("_E", StaffMenuEntry, PlatformMenuEntry, PublicServiceEntry)


def _sorted(entries: Iterable[_E]) -> list[_E]:
    return sorted(entries, key=lambda e: (e.order, e.key))


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def staff_entries(staff: StaffContext) -> list[MenuLink]:
    """The staff console pages ``staff`` may open in its municipality, in menu order."""
    sections = list(SECTIONS)
    ordered = sorted(
        _staff.values(),
        key=lambda e: (
            sections.index(e.section) if e.section in SECTIONS else len(sections),
            e.section,
            e.order,
            e.key,
        ),
    )
    slug = staff.municipality.slug
    return [
        MenuLink(
            e.key,
            e.label,
            _with_query(reverse(e.url_name, kwargs={"municipality_slug": slug}), e.query),
        )
        for e in ordered
        if e.allowed(staff)
    ]


def staff_sections(staff: StaffContext) -> list[MenuSection]:
    """:func:`staff_entries` grouped by section; sections with no link are left out."""
    by_key = {e.key: e for e in _staff.values()}
    result: dict[str, MenuSection] = {}
    for link in staff_entries(staff):
        section = by_key[link.key].section
        if section not in result:
            result[section] = MenuSection(section, SECTIONS.get(section, section))
        result[section].links.append(link)
    return list(result.values())


def platform_entries(user: User) -> list[MenuLink]:
    """The operator pages ``user`` may open (none for anyone who is not an operator)."""
    return [
        MenuLink(e.key, e.label, reverse(e.url_name))
        for e in _sorted(_platform.values())
        if e.allowed(user)
    ]


def public_services(municipality: Municipality) -> list[PublicService]:
    """The services ``municipality`` has switched on, for its top page."""
    return [
        PublicService(
            e.key,
            e.label,
            e.description,
            reverse(e.url_name, kwargs={"municipality_slug": municipality.slug}),
        )
        for e in _sorted(_public.values())
        if e.enabled(municipality)
    ]
