"""The platform operator's console: bodies from the 団体コード list, URL names, serving, admins."""

from __future__ import annotations

import pytest
from django.test import Client

from madoguchi.accounts.models import Invitation, User
from madoguchi.audit.models import PLATFORM_CHAIN, AuditEntry
from madoguchi.tenants.models import Membership, Municipality, MunicipalitySlugAlias, Role
from madoguchi.tenants.onboarding import body_search, slug_suggest
from madoguchi.tenants.services import lgcode_rows
from tests.accounts.invitemail import last_link, mails
from tests.isolation import Tenant, signed_in_client, snapshot
from tests.procedures.test_submit import _SMTPServer


def platform_actions() -> list[str]:
    return list(
        AuditEntry.objects.filter(chain=PLATFORM_CHAIN)
        .exclude(action__startswith="auth.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_sayo_has_the_code_285013_with_its_check_digit() -> None:
    """The bundled list gives 佐用町 the code 28501 plus check digit 3."""
    assert lgcode_rows()["285013"].name == "佐用町"


@pytest.mark.parametrize("query", ["佐用町", "佐用", "さよう", "サヨウ", "ｻﾖｳ", "285013", "28501"])
def test_a_body_is_found_by_name_kana_in_either_script_or_code(db: None, query: str) -> None:
    """Name, reading (hiragana, katakana, half-width) and code prefix all find 佐用町."""
    codes = [c.code for c in body_search(query=query)]
    assert "285013" in codes


def test_the_url_name_proposed_is_romaji_without_the_suffix() -> None:
    assert [slug_suggest(code=c) for c in ("285013", "281000", "271004")] == [
        "sayo",
        "kobe",
        "osaka",
    ]


def test_the_console_sends_anonymous_visitors_to_the_platform_sign_in(db: None) -> None:
    response = Client().get("/operator/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=%2Foperator%2F"


def test_municipality_staff_are_refused_the_operator_console(tenant_a: Tenant) -> None:
    """Even a municipality's admin is not an operator: 403 on every page, nothing added."""
    client = tenant_a.client("admin")
    before = snapshot(Municipality.objects.all())
    assert client.get("/operator/").status_code == 403
    assert client.get("/operator/bodies/find/?q=佐用").status_code == 403
    response = client.post("/operator/bodies/add/285013/", {"slug": "sayo", "activate": "on"})
    assert response.status_code == 403
    assert snapshot(Municipality.objects.all()) == before


def test_the_operator_adds_a_body_under_its_url_name(operator_client: Client) -> None:
    """佐用町 is added as /sayo/, served at once, with its reading; the add is audited."""
    search = operator_client.get("/operator/bodies/find/", {"q": "さよう"})
    assert "/operator/bodies/add/285013/" in search.content.decode()
    form = operator_client.get("/operator/bodies/add/285013/")
    assert 'value="sayo"' in form.content.decode()

    response = operator_client.post(
        "/operator/bodies/add/285013/", {"slug": "sayo", "activate": "on"}
    )

    assert response["Location"] == "/operator/bodies/285013/"
    sayo = Municipality.objects.get(code="285013")
    assert (sayo.name, sayo.slug, sayo.is_active, sayo.name_kana) == (
        "佐用町",
        "sayo",
        True,
        "サヨウチョウ",
    )
    assert sayo.parent is not None
    assert sayo.parent.name == "佐用郡"
    assert Client().get("/sayo/").status_code == 200
    assert platform_actions() == ["municipality.load", "municipality.add"]
    home = operator_client.get("/operator/").content.decode()
    assert "佐用町" in home
    assert "/sayo/" in home


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("operator", "「operator」はサイトの予約語のため、URL名に使えません。"),
        ("admin", "「admin」はサイトの予約語のため、URL名に使えません。"),
        ("Sayo", "URL名は半角の英小文字・数字とハイフン（-）で"),
        ("さよう", "URL名は半角の英小文字・数字とハイフン（-）で"),
        ("sayo-", "URL名は半角の英小文字・数字とハイフン（-）で"),
        ("kobe", "URL名「kobe」はほかの団体が使っています"),
    ],
)
def test_a_bad_url_name_is_refused_with_a_message_and_nothing_added(
    operator_client: Client, tenant_a: Tenant, slug: str, message: str
) -> None:
    before = snapshot(Municipality.objects.all())
    response = operator_client.post("/operator/bodies/add/285013/", {"slug": slug})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot(Municipality.objects.all()) == before


def test_an_unknown_code_is_a_404(operator_client: Client) -> None:
    assert operator_client.get("/operator/bodies/add/999999/").status_code == 404
    assert operator_client.get("/operator/bodies/999999/").status_code == 404


def test_a_changed_url_name_redirects_the_old_address(
    operator_client: Client, tenant_a: Tenant
) -> None:
    """/kobe/... keeps working after the rename: it redirects to the same page under /kobe-city/."""
    response = operator_client.post("/operator/bodies/281000/slug/", {"slug": "kobe-city"})
    assert response["Location"] == "/operator/bodies/281000/"
    assert Client().get("/kobe-city/").status_code == 200

    old = Client().get("/kobe/staff/login/?next=/kobe/staff/")
    assert old.status_code == 302
    assert old["Location"] == "/kobe-city/staff/login/?next=/kobe/staff/"
    assert Client().get("/kobe/")["Location"] == "/kobe-city/"
    assert list(MunicipalitySlugAlias.objects.values_list("slug", flat=True)) == ["kobe"]
    [entry] = AuditEntry.objects.filter(action="municipality.slug_change")
    assert entry.data == {"from": "kobe", "to": "kobe-city"}

    # Taking the old name back ends the redirect instead of making a loop.
    operator_client.post("/operator/bodies/281000/slug/", {"slug": "kobe"})
    assert Client().get("/kobe/").status_code == 200
    assert Client().get("/kobe-city/")["Location"] == "/kobe/"
    assert list(MunicipalitySlugAlias.objects.values_list("slug", flat=True)) == ["kobe-city"]


def test_another_body_cannot_take_an_old_url_name(
    operator_client: Client, tenant_a: Tenant
) -> None:
    operator_client.post("/operator/bodies/281000/slug/", {"slug": "kobe-city"})
    before = snapshot(Municipality.objects.all())
    response = operator_client.post("/operator/bodies/add/285013/", {"slug": "kobe"})
    assert "URL名「kobe」はほかの団体が使っています（または以前使っていました）。" in (
        response.content.decode()
    )
    assert snapshot(Municipality.objects.all()) == before


def test_retiring_and_activating_a_body(operator_client: Client, tenant_a: Tenant) -> None:
    """Retired, the body's pages answer 404 and its data stays; activated, they answer again."""
    staff_before = snapshot(Membership.objects.filter(municipality=tenant_a.municipality))
    operator_client.post("/operator/bodies/281000/active/", {"active": "0"})
    assert Client().get("/kobe/").status_code == 404
    assert snapshot(Membership.objects.filter(municipality=tenant_a.municipality)) == staff_before

    operator_client.post("/operator/bodies/281000/active/", {"active": "1"})
    assert Client().get("/kobe/").status_code == 200
    assert platform_actions()[-2:] == ["municipality.retire", "municipality.activate"]


def test_the_operator_invites_the_first_admin_by_email(
    operator_client: Client, smtp_server: _SMTPServer, django_capture_on_commit_callbacks: object
) -> None:
    operator_client.post("/operator/bodies/add/285013/", {"slug": "sayo", "activate": "on"})
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = operator_client.post(
            "/operator/bodies/285013/invite/",
            {
                "email": "admin@town.sayo.example",
                "username": "sayo-admin",
                "display_name": "佐用 花子",
            },
        )
    assert response["Location"] == "/operator/bodies/285013/"

    [(recipients, subject, body)] = mails(smtp_server)
    assert recipients == ["admin@town.sayo.example"]
    assert subject == "【佐用町】オンライン窓口の職員アカウントへの招待"
    assert "ユーザー名：sayo-admin" in body
    token = last_link(smtp_server).split("/")[-2]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_hash  # only its hash is stored
    admin = User.objects.get(username="sayo-admin")
    assert (admin.is_active, admin.has_usable_password()) == (False, False)
    assert Membership.objects.get(user=admin).role == Role.ADMIN
    page = operator_client.get("/operator/bodies/285013/").content.decode()
    assert "sayo-admin" in page
    assert "招待中" in page


def test_a_taken_username_is_refused_and_nothing_created(
    operator_client: Client, tenant_a: Tenant, smtp_server: _SMTPServer
) -> None:
    before = snapshot(User.objects.all())
    response = operator_client.post(
        "/operator/bodies/281000/invite/", {"email": "x@example.jp", "username": "kobe-admin"}
    )
    assert "このユーザー名はすでに使われています。" in response.content.decode()
    assert snapshot(User.objects.all()) == before
    assert smtp_server.messages == []


def test_a_superuser_without_the_second_factor_is_sent_to_sign_in(operator: User) -> None:
    client = Client()
    client.force_login(operator)
    assert client.get("/operator/")["Location"].startswith("/staff/login/")
    assert signed_in_client(operator).get("/operator/").status_code == 200
