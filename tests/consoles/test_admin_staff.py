"""The admin console's staff pages: list, invite, roles, deactivate, 2FA reset, unlock."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import Invitation, User
from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor
from madoguchi.surveillance.selectors import clinic_for_user
from madoguchi.surveillance.setup import health_centre_ensure
from madoguchi.tenants.models import Membership, Role
from madoguchi.tenants.services import membership_grant
from tests.accounts.flow import post_password
from tests.accounts.invitemail import accept, last_link, mails
from tests.isolation import PASSWORD, Tenant, snapshot
from tests.procedures.test_submit import _SMTPServer


def account_state(tenant: Tenant) -> list[list[dict[str, Any]]]:
    return [
        snapshot(User.objects.all()),
        snapshot(Membership.objects.filter(municipality=tenant.municipality)),
        snapshot(TOTPDevice.objects.all()),
    ]


def member_url(user: User, action: str = "") -> str:
    return f"/kobe/staff/admin/staff/{user.pk}/{action + '/' if action else ''}"


def test_the_staff_list_shows_roles_per_department_and_last_sign_in(tenant_a: Tenant) -> None:
    User.objects.filter(pk=tenant_a.staff["clerk"].pk).update(
        last_login=timezone.make_aware(datetime.datetime(2026, 4, 1, 9, 30))
    )
    page = tenant_a.client("admin").get("/kobe/staff/admin/staff/").content.decode()
    assert "kobe-clerk" in page
    assert "福祉課：担当者" in page
    assert "市民課：担当者" in page  # kobe-clerk-other
    assert "自治体全体：管理者" in page
    assert "2026-04-01 09:30" in page
    assert "sayo-" not in page


def test_opening_a_member_leaves_an_access_entry(tenant_a: Tenant) -> None:
    clerk = tenant_a.staff["clerk"]
    assert tenant_a.client("admin").get(member_url(clerk)).status_code == 200
    entry = AuditEntry.objects.get(kind="access", object_id=str(clerk.pk))
    assert (entry.purpose, entry.actor_label) == ("staff_admin", "kobe-admin")


def test_the_admin_invites_a_clerk_who_then_works_in_that_department(
    tenant_a: Tenant, smtp_server: _SMTPServer, django_capture_on_commit_callbacks: Any
) -> None:
    citizens = tenant_a.departments["citizens"]
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.client("admin").post(
            "/kobe/staff/admin/staff/invite/",
            {
                "email": "clerk2@city.kobe.example",
                "username": "kobe-clerk2",
                "display_name": "窓口 次郎",
                "department": str(citizens.pk),
                "role": "clerk",
            },
        )
    assert response["Location"] == "/kobe/staff/admin/staff/"
    [(recipients, subject, _body)] = mails(smtp_server)
    assert (recipients, subject) == (
        ["clerk2@city.kobe.example"],
        "【神戸市】オンライン窓口の職員アカウントへの招待",
    )
    accept(Client(), last_link(smtp_server), "kobe-clerk2")
    clerk2 = User.objects.get(username="kobe-clerk2")
    [membership] = Membership.objects.filter(user=clerk2)
    assert (membership.department, membership.role) == (citizens, Role.CLERK)
    assert AuditEntry.objects.filter(action="invitation.create", object_id=str(clerk2.pk)).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-address", "username": "x1"}, "メールアドレスの形式が正しくありません"),
        ({"email": "a@example.jp", "username": "名前"}, "ユーザー名には半角英数字と"),
        (
            {"email": "a@example.jp", "username": "kobe-clerk"},
            "このユーザー名はすでに使われています。",
        ),
    ],
)
def test_bad_invitations_are_refused_with_a_message(
    tenant_a: Tenant, smtp_server: _SMTPServer, data: dict[str, str], message: str
) -> None:
    client = tenant_a.client("admin")
    before = account_state(tenant_a)
    response = client.post(
        "/kobe/staff/admin/staff/invite/", {**data, "department": "whole", "role": "clerk"}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert account_state(tenant_a) == before
    assert smtp_server.messages == []


def test_the_admin_changes_roles_per_department(tenant_a: Tenant) -> None:
    clerk = tenant_a.staff["clerk"]
    welfare, citizens = tenant_a.departments["welfare"], tenant_a.departments["citizens"]
    response = tenant_a.client("admin").post(
        member_url(clerk, "roles"),
        {"role_whole": "-", f"role_{welfare.pk}": "supervisor", f"role_{citizens.pk}": "viewer"},
    )
    assert response["Location"] == member_url(clerk)
    roles = {m.department_id: m.role for m in Membership.objects.filter(user=clerk)}
    assert roles == {welfare.pk: "supervisor", citizens.pk: "viewer"}
    changes = AuditEntry.objects.filter(action="membership.set").order_by("id")
    assert [(e.data["department"], e.data["from"], e.data["to"]) for e in changes] == [
        ("citizens", None, "viewer"),
        ("welfare", "clerk", "supervisor"),
    ]


@pytest.mark.parametrize(
    "roles",
    [{"role_whole": "supervisor"}, {"role_whole": "-"}],
    ids=["demoted", "removed"],
)
def test_the_last_admin_cannot_be_demoted_and_nothing_changes(
    tenant_a: Tenant, roles: dict[str, str]
) -> None:
    admin = tenant_a.staff["admin"]
    welfare = tenant_a.departments["welfare"]
    client = tenant_a.client("admin")
    before = account_state(tenant_a)
    response = client.post(member_url(admin, "roles"), {**roles, f"role_{welfare.pk}": "clerk"})
    assert response.status_code == 200
    assert "この職員は、この自治体でただ一人の管理者です。" in response.content.decode()
    assert account_state(tenant_a) == before  # the department role was not added either
    assert not AuditEntry.objects.filter(action="membership.set").exists()


def test_an_admin_cannot_deactivate_themselves_and_nothing_changes(tenant_a: Tenant) -> None:
    admin = tenant_a.staff["admin"]
    client = tenant_a.client("admin")
    before = account_state(tenant_a)
    response = client.post(member_url(admin, "deactivate"))
    assert response.status_code == 200
    assert "自分自身のアカウントは無効にできません。" in response.content.decode()
    assert account_state(tenant_a) == before


def test_with_a_second_admin_deactivated_the_first_is_the_last_again(tenant_a: Tenant) -> None:
    """Deactivating one of two admins works; the one left then cannot be demoted."""
    admin = tenant_a.staff["admin"]
    second = User.objects.create(username="kobe-admin2", is_active=True)
    membership_grant(
        municipality=tenant_a.municipality,
        user=second,
        role=Role.ADMIN,
        department=None,
        actor=AuditActor(label="test"),
    )
    client = tenant_a.client("admin")
    assert client.post(member_url(second, "deactivate"))["Location"] == member_url(second)
    second.refresh_from_db()
    assert not second.is_active
    before = account_state(tenant_a)

    response = client.post(member_url(admin, "roles"), {"role_whole": "viewer"})

    assert "この職員は、この自治体でただ一人の管理者です。" in response.content.decode()
    assert account_state(tenant_a) == before


def test_the_service_refuses_to_deactivate_the_last_active_admin(tenant_a: Tenant) -> None:
    """Whoever asks (here the command line), the only active admin stays."""
    from madoguchi.accounts.staff_admin import StaffAdminError, staff_deactivate

    admin = tenant_a.staff["admin"]
    before = account_state(tenant_a)
    with pytest.raises(StaffAdminError) as refused:
        staff_deactivate(
            municipality=tenant_a.municipality, user=admin, actor=AuditActor(label="test")
        )
    assert refused.value.code == "last_admin"
    assert account_state(tenant_a) == before


def test_deactivation_ends_a_live_session_at_once(tenant_a: Tenant) -> None:
    clerk = tenant_a.staff["clerk"]
    clerk_client = tenant_a.client("clerk")
    assert clerk_client.get("/kobe/staff/").status_code == 200

    response = tenant_a.client("admin").post(member_url(clerk, "deactivate"))

    assert response["Location"] == member_url(clerk)
    next_request = clerk_client.get("/kobe/staff/")
    assert next_request.status_code == 302
    assert next_request["Location"].startswith("/kobe/staff/login/")
    clerk.refresh_from_db()
    assert not clerk.is_active
    assert AuditEntry.objects.filter(action="staff.deactivate", object_id=str(clerk.pk)).exists()
    # And the password no longer opens a session.
    assert "ユーザー名またはパスワードが正しくありません。" in (
        post_password(Client(), "kobe-clerk", PASSWORD).content.decode()
    )

    tenant_a.client("admin").post(member_url(clerk, "reactivate"))
    clerk.refresh_from_db()
    assert clerk.is_active


def test_resetting_the_second_factor_ends_the_session_and_asks_to_enrol_again(
    tenant_a: Tenant,
) -> None:
    clerk = tenant_a.staff["clerk"]
    clerk_client = tenant_a.client("clerk")
    assert clerk_client.get("/kobe/staff/").status_code == 200

    tenant_a.client("admin").post(member_url(clerk, "reset-2fa"))

    assert not TOTPDevice.objects.filter(user=clerk).exists()
    assert clerk_client.get("/kobe/staff/")["Location"].startswith("/kobe/staff/login/")
    fresh = Client()
    post_password(fresh, "kobe-clerk", PASSWORD)
    page = fresh.get("/kobe/staff/login/code/").content.decode()
    assert "認証アプリの登録" in page
    entry = AuditEntry.objects.get(action="staff.second_factor_reset")
    assert entry.data == {"username": "kobe-clerk", "devices_removed": 1}


def test_unlocking_clears_the_sign_in_throttle(tenant_a: Tenant, settings: Any) -> None:
    clerk = tenant_a.staff["clerk"]
    own_computer = Client()
    for _ in range(settings.STAFF_LOGIN_MAX_FAILURES):
        post_password(own_computer, "kobe-clerk", "wrong password 2026")
    assert post_password(own_computer, "kobe-clerk", PASSWORD).status_code == 429
    page = tenant_a.client("admin").get("/kobe/staff/admin/staff/").content.decode()
    assert "サインイン制限中" in page

    tenant_a.client("admin").post(member_url(clerk, "unlock"))

    entry = AuditEntry.objects.get(action="staff.unlock")
    assert entry.data == {"username": "kobe-clerk", "was_locked": True}
    assert "サインイン制限中" not in (
        tenant_a.client("admin").get("/kobe/staff/admin/staff/").content.decode()
    )
    response = post_password(own_computer, "kobe-clerk", PASSWORD)
    assert response["Location"] == "/kobe/staff/login/code/"


def test_an_account_that_also_works_elsewhere_is_left_to_the_operator(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    shared = tenant_b.staff["clerk"]
    membership_grant(
        municipality=tenant_a.municipality,
        user=shared,
        role=Role.VIEWER,
        department=None,
        actor=AuditActor(label="test"),
    )
    client = tenant_a.client("admin")
    before = [snapshot(User.objects.all()), snapshot(TOTPDevice.objects.all())]
    for action in ("deactivate", "reset-2fa", "unlock"):
        response = client.post(member_url(shared, action))
        assert response.status_code == 200
        assert "ほかの自治体にも所属しているか" in response.content.decode()
    assert [snapshot(User.objects.all()), snapshot(TOTPDevice.objects.all())] == before


def test_a_clinic_is_invited_the_same_way(
    tenant_a: Tenant, smtp_server: _SMTPServer, django_capture_on_commit_callbacks: Any
) -> None:
    centre = health_centre_ensure(
        municipality=tenant_a.municipality,
        department_code="hokenjo",
        name="神戸市保健所",
        urgent_phone="078-322-6789",
        area_codes=["281000"],
        actor=AuditActor(label="test"),
    )
    client = tenant_a.client("admin")
    assert 'href="/kobe/staff/admin/staff/invite-clinic/"' in (
        client.get("/kobe/staff/admin/").content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/kobe/staff/admin/staff/invite-clinic/",
            {
                "email": "info@clinic.example",
                "username": "minato-clinic",
                "display_name": "みなと内科",
                "health_centre": str(centre.pk),
                "address": "神戸市中央区港島1-1",
                "phone": "078-111-2222",
                "doctor_name": "港 一郎",
            },
        )
    browser = Client()
    assert accept(browser, last_link(smtp_server), "minato-clinic")["Location"] == "/kobe/staff/"
    user = User.objects.get(username="minato-clinic")
    clinic = clinic_for_user(municipality=tenant_a.municipality, user_id=user.pk)
    assert clinic is not None
    assert (clinic.name, clinic.health_centre) == ("みなと内科", centre)
    assert browser.get("/kobe/health/clinic/").status_code == 200


def test_a_pending_invitation_is_shown_and_can_be_sent_again(
    tenant_a: Tenant, smtp_server: _SMTPServer, django_capture_on_commit_callbacks: Any
) -> None:
    client = tenant_a.client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/kobe/staff/admin/staff/invite/",
            {
                "email": "p@example.jp",
                "username": "kobe-pending",
                "department": "whole",
                "role": "viewer",
            },
        )
    pending = User.objects.get(username="kobe-pending")
    assert "招待中" in client.get(member_url(pending)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(member_url(pending, "resend"))
    assert len(smtp_server.messages) == 2
    assert Invitation.objects.filter(user=pending, revoked_at__isnull=True).count() == 1


def test_a_reactivated_account_does_not_revive_its_old_sessions(tenant_a: Tenant) -> None:
    """Deactivation ends sessions for good: after reactivation the old one still signs in again."""
    clerk = tenant_a.staff["clerk"]
    old_session = tenant_a.client("clerk")
    admin = tenant_a.client("admin")
    admin.post(member_url(clerk, "deactivate"))
    admin.post(member_url(clerk, "reactivate"))
    clerk.refresh_from_db()
    assert clerk.is_active
    assert old_session.get("/kobe/staff/")["Location"].startswith("/kobe/staff/login/")
    assert tenant_a.client("clerk").get("/kobe/staff/").status_code == 200


def test_an_admin_of_one_department_only_gets_403(tenant_a: Tenant) -> None:
    """The console is for admins of the whole municipality, not of a single department."""
    user = User.objects.create(username="kobe-welfare-admin", is_active=True)
    membership_grant(
        municipality=tenant_a.municipality,
        user=user,
        role=Role.ADMIN,
        department=tenant_a.departments["welfare"],
        actor=AuditActor(label="test"),
    )
    from tests.isolation import signed_in_client

    client = signed_in_client(user)
    assert client.get("/kobe/staff/admin/").status_code == 403
    assert client.get("/kobe/staff/admin/staff/").status_code == 403
