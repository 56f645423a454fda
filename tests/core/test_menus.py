"""The menus come from one registry and lead, for every role, to exactly what it may open.

For each role: every link of its menu answers 200, and every staff page without path parameters
that answers it 200 is reachable from its menu (a link of the menu, or a link on a page the menu
links to). Staff pages are found by walking the URLconf: the pages that answer a signed-in role
200 but an anonymous visitor not.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.core import menus
from tests.isolation import PASSWORD, Tenant, signed_in_client
from tests.surveillance.factories import World, make_world

pytestmark = pytest.mark.django_db

_HREF = re.compile(r'(?:href|action)="([^"#?]*)')

# Expected menu of each role in 神戸市 (tests/isolation.py and tests/surveillance/factories.py).
EXPECTED = {
    "admin": {
        "applications-queue",
        "applications-summary",
        "applications-transfers",
        "centre-cases",
        "centre-worklist",
        "centre-counts",
        "consultation-inbox",
        "consultation-faq",
        "consultation-synonyms",
        "consultation-learning",
        "consultation-line",
        "opendata-staff",
        "audit-log",
        "tenants-settings",
        "consoles-admin",
        "consoles-departments",
        "consoles-staff",
        "sso-settings",
        "procedures-admin",
        "consultation-faq-try",
        "consultation-faq-index",
        "messaging-sends",
        "messaging-topics",
        "messaging-areas",
        "messaging-settings",
        "api-clients",
        "reports-setup",
        "reservations-resources",
        "reservations-closed",
    },
    "supervisor": {
        "applications-queue",
        "applications-summary",
        "applications-transfers",
        "consultation-inbox",
        "messaging-sends",
    },
    "clerk": {
        "applications-queue",
        "applications-summary",
        "consultation-inbox",
        "messaging-sends",
    },
    "viewer": {"applications-queue", "applications-summary", "consultation-inbox"},
    "clinic": {"clinic-home", "clinic-csv", "clinic-age-band-counts"},
    "centre": {
        "applications-queue",
        "applications-summary",
        "consultation-inbox",
        "centre-cases",
        "centre-worklist",
        "centre-counts",
        "messaging-sends",
    },
    "operator": set(),
}


def _url_names(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from _url_names(pattern.url_patterns, namespace)
        elif pattern.name:
            yield prefix + pattern.name


def _municipality_pages(slug: str) -> dict[str, str]:
    """Every named page that takes only the municipality's slug: name -> path."""
    pages = {}
    for name in set(_url_names(get_resolver().url_patterns)):
        try:
            pages[name] = reverse(name, kwargs={"municipality_slug": slug})
        except NoReverseMatch:
            continue
    return pages


def _platform_pages() -> dict[str, str]:
    """Pages outside any municipality taking no parameter (the Django admin: its index only)."""
    pages = {}
    for name in set(_url_names(get_resolver().url_patterns)):
        if name.startswith("admin:") and name != "admin:index":
            continue  # the admin site's own navigation leads from its index to its pages
        try:
            pages[name] = reverse(name)
        except NoReverseMatch:
            continue
    return pages


def _links(body: str) -> set[str]:
    return {html.unescape(m) for m in _HREF.findall(body)}


@pytest.fixture
def world(tenant_a: Tenant, tenant_b: Tenant) -> World:
    return make_world(tenant_a, tenant_b)


def _operator() -> User:
    user = staff_user_create(username="operator", password=PASSWORD)
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _client_for(role: str, world: World) -> tuple[Client, User]:
    if role == "clinic":
        user = world.clinic.user
    elif role == "centre":
        user = world.nurse
    elif role == "operator":
        user = _operator()
    else:
        user = world.kobe.staff[role]
    return signed_in_client(user), user


def _menu_keys(client: Client, slug: str) -> set[str]:
    response = client.get(f"/{slug}/staff/")
    if response.status_code != 200:
        return set()
    return set(re.findall(r'data-menu="([^"]+)"', response.content.decode()))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_menu_link_opens_and_every_page_a_role_opens_is_in_reach(
    role: str, world: World
) -> None:
    slug = world.kobe.slug
    client, _user = _client_for(role, world)
    keys = _menu_keys(client, slug)
    assert keys == EXPECTED[role]

    console = client.get(f"/{slug}/staff/")
    menu_links = {
        html.unescape(href)
        for href in re.findall(r'<a href="([^"]+)" data-menu=', console.content.decode())
    }
    assert len(menu_links) == len(EXPECTED[role])
    reachable: set[str] = {f"/{slug}/staff/"}
    for href in menu_links:
        page = client.get(href)
        assert page.status_code == 200, f"{role}: menu link {href} answered {page.status_code}"
        reachable.add(href.split("?")[0])
        reachable |= _links(page.content.decode())

    anonymous = Client()
    opened = {}
    for name, path in sorted(_municipality_pages(slug).items()):
        if anonymous.get(path).status_code == 200:
            continue  # a public page
        if client.get(path).status_code == 200:
            opened[name] = path
    unreachable = {name for name, path in opened.items() if path not in reachable}
    assert unreachable == set(), f"{role} opens pages its menu does not lead to"


def test_the_operators_menu_leads_to_every_platform_page_it_opens(world: World) -> None:
    client, user = _client_for("operator", world)
    links = menus.platform_entries(user)
    assert {link.key for link in links} == {"django-admin", "operator-console"}
    header = client.get("/").content.decode()
    reachable: set[str] = set()
    for link in links:
        assert f'href="{link.url}"' in header
        page = client.get(link.url)
        assert page.status_code == 200, f"platform link {link.url} answered {page.status_code}"
        reachable.add(link.url)
        reachable |= _links(page.content.decode())
    anonymous = Client()
    opened = {
        name: path
        for name, path in _platform_pages().items()
        if anonymous.get(path).status_code != 200 and client.get(path).status_code == 200
    }
    assert {n for n, p in opened.items() if p not in reachable} == set()


def test_staff_of_a_municipality_see_no_platform_menu(world: World) -> None:
    admin = world.kobe.staff["admin"]
    assert menus.platform_entries(admin) == []
    assert "/admin/" not in world.kobe.client("admin").get("/").content.decode()


def test_a_clinic_lands_on_the_notification_form_not_on_applications(world: World) -> None:
    client = signed_in_client(world.clinic.user)
    page = client.get(world.kobe.url("staff/")).content.decode()
    assert f'href="{world.kobe.url("health/clinic/")}"' in page
    assert "発生届の提出" in page
    assert "申請の処理" not in page
    assert "振込データの作成" not in page
    assert client.get(world.kobe.url("staff/applications/")).status_code == 403
    assert client.get(world.kobe.url("staff/applications/summary/")).status_code == 403


def test_a_clerk_is_not_offered_the_transfer_export_it_may_not_open(world: World) -> None:
    client = world.kobe.client("clerk")
    assert "振込データの作成" not in client.get(world.kobe.url("staff/")).content.decode()
    assert client.get(world.kobe.url("staff/applications/export/transfers/")).status_code == 403
    supervisor = world.kobe.client("supervisor")
    assert "振込データの作成" in supervisor.get(world.kobe.url("staff/")).content.decode()


def test_the_header_carries_the_staff_menu_on_every_staff_page(world: World) -> None:
    page = world.kobe.client("admin").get(world.kobe.url("staff/applications/")).content.decode()
    header = page.split("</header>")[0]
    for path in ("chat/staff/", "dashboard/staff/", "staff/audit/", "staff/settings/"):
        assert f'href="{world.kobe.url(path)}"' in header


def test_a_clinic_cannot_open_the_chat_inbox(world: World) -> None:
    client = signed_in_client(world.clinic.user)
    assert client.get(world.kobe.url("chat/staff/")).status_code == 403


def test_register_replaces_an_entry_with_the_same_key() -> None:
    before = dict(menus._public)
    try:
        menus.register(
            menus.PublicServiceEntry("x", "A", "", "procedures:status", lambda m: True),
            menus.PublicServiceEntry("x", "B", "", "procedures:status", lambda m: True),
        )
        assert menus._public["x"].label == "B"
    finally:
        menus._public.clear()
        menus._public.update(before)
