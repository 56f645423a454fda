"""Accepting an invitation: single-use link, password, TOTP enrolment; bad links change nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.invitations import invitation_create
from madoguchi.accounts.models import Invitation, User
from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor
from madoguchi.tenants.models import Role
from tests.accounts.flow import totp_code, wrong_code
from tests.accounts.invitemail import NEW_PASSWORD, accept, last_link
from tests.isolation import Tenant, snapshot
from tests.procedures.test_submit import _SMTPServer, smtp_server

__all__ = ["smtp_server"]


@pytest.fixture
def invited(
    tenant_a: Tenant, smtp_server: _SMTPServer, django_capture_on_commit_callbacks: Any
) -> str:
    """A clerk of 神戸市's 福祉課 invited by its admin; returns the e-mailed link's path."""
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            municipality=tenant_a.municipality,
            email="new.clerk@city.kobe.example",
            username="kobe-new-clerk",
            display_name="新人 太郎",
            role=Role.CLERK,
            department=tenant_a.departments["welfare"],
            actor=AuditActor(user=tenant_a.staff["admin"]),
        )
    return last_link(smtp_server)


def state() -> list[list[dict[str, Any]]]:
    return [
        snapshot(User.objects.filter(username="kobe-new-clerk")),
        snapshot(Invitation.objects.all()),
        snapshot(TOTPDevice.objects.filter(user__username="kobe-new-clerk", confirmed=True)),
    ]


def test_accepting_sets_the_password_enrols_totp_and_lands_in_the_console(
    invited: str,
) -> None:
    client = Client()
    response = accept(client, invited, "kobe-new-clerk")

    assert response.status_code == 302
    assert response["Location"] == "/kobe/staff/"
    assert client.get("/kobe/staff/").status_code == 200
    user = User.objects.get(username="kobe-new-clerk")
    assert user.is_active
    assert user.check_password(NEW_PASSWORD)
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert Invitation.objects.get().accepted_at is not None
    assert (
        AuditEntry.objects.filter(action="invitation.accept", object_id=str(user.pk)).count() == 1
    )


def test_the_link_leaves_the_address_bar_and_the_token_is_stored_hashed(invited: str) -> None:
    token = invited.split("/")[-2]
    client = Client()
    assert client.get(invited)["Location"] == "/staff/invitation/"
    assert not Invitation.objects.filter(token_hash=token).exists()
    page = client.get("/staff/invitation/").content.decode()
    assert "kobe-new-clerk" in page
    assert token not in page


def test_a_used_link_is_refused_in_japanese_and_changes_nothing(invited: str) -> None:
    accept(Client(), invited, "kobe-new-clerk")
    before = state()

    response = Client().get(invited)

    assert response.status_code == 410
    assert "この招待リンクはすでに使われています。" in response.content.decode()
    assert state() == before


def test_an_expired_link_is_refused_in_japanese_and_changes_nothing(invited: str) -> None:
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    before = state()

    response = Client().get(invited)

    assert response.status_code == 410
    assert "有効期限（72時間）が切れています" in response.content.decode()
    assert state() == before


def test_a_link_expiring_between_the_steps_is_refused_at_the_next_step(invited: str) -> None:
    client = Client()
    client.get(invited)
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    before = state()
    response = client.post(
        "/staff/invitation/", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert response.status_code == 410
    assert state() == before


@pytest.mark.parametrize(
    "path", ["/staff/invitation/not-a-real-token-at-all/", "/staff/invitation/"]
)
def test_an_unknown_link_is_a_japanese_404(invited: str, path: str) -> None:
    before = state()
    response = Client().get(path)
    assert response.status_code == 404
    assert "この招待リンクは無効です。" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        ("short", "short", "このパスワードは短すぎます。最低 12 文字以上必要です。"),
        ("123456789012345", "123456789012345", "このパスワードは数字しか使われていません。"),
        ("password12345", "password12345", "このパスワードは一般的すぎます。"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "確認のために入力したパスワードが一致しません。"),
        ("", "", "パスワードを入力してください。"),
    ],
)
def test_a_weak_or_mismatched_password_is_refused_and_nothing_changes(
    invited: str, password: str, again: str, message: str
) -> None:
    client = Client()
    client.get(invited)
    before = state()
    response = client.post("/staff/invitation/", {"password": password, "password_again": again})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert state() == before
    assert not User.objects.get(username="kobe-new-clerk").has_usable_password()


def test_the_code_step_needs_the_password_first(invited: str) -> None:
    client = Client()
    client.get(invited)
    assert client.get("/staff/invitation/code/")["Location"] == "/staff/invitation/"


def test_a_wrong_code_shows_the_qr_again_and_keeps_the_password(invited: str) -> None:
    client = Client()
    client.get(invited)
    client.post("/staff/invitation/", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    first = client.get("/staff/invitation/code/").content.decode()
    device = TOTPDevice.objects.get(user__username="kobe-new-clerk", confirmed=False)

    response = client.post("/staff/invitation/code/", {"token": wrong_code(device)})

    page = response.content.decode()
    assert response.status_code == 200
    assert "確認コードが正しくありません。" in page
    assert "<svg" in page
    secret = first.split('id="totp-secret">')[1].split("<")[0]
    assert secret in page  # the same key: what was scanned stays valid
    user = User.objects.get(username="kobe-new-clerk")
    assert user.check_password(NEW_PASSWORD)
    assert not user.is_active
    assert Invitation.objects.get().accepted_at is None

    accepted = client.post("/staff/invitation/code/", {"token": totp_code(device)})
    assert accepted["Location"] == "/kobe/staff/"


def test_a_second_invitation_replaces_the_first_link(
    tenant_a: Tenant,
    invited: str,
    smtp_server: _SMTPServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from madoguchi.accounts.invitations import invitation_resend

    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(
            municipality=tenant_a.municipality,
            user=User.objects.get(username="kobe-new-clerk"),
            actor=AuditActor(user=tenant_a.staff["admin"]),
        )
    second = last_link(smtp_server)
    assert second != invited
    assert Client().get(invited).status_code == 410
    assert accept(Client(), second, "kobe-new-clerk")["Location"] == "/kobe/staff/"


def test_an_accepted_invitee_signs_in_like_any_staff(invited: str) -> None:
    from tests.accounts.flow import post_code, post_password

    accept(Client(), invited, "kobe-new-clerk")
    client = Client()
    response = post_password(client, "kobe-new-clerk", NEW_PASSWORD, slug="kobe")
    assert response["Location"] == "/kobe/staff/login/code/"
    device = TOTPDevice.objects.get(user__username="kobe-new-clerk", confirmed=True)
    assert post_code(client, totp_code(device, steps_ahead=1), slug="kobe")["Location"] == (
        "/kobe/staff/"
    )


def test_a_pending_invitee_cannot_sign_in(invited: str) -> None:
    from tests.accounts.flow import GENERIC_FAILURE, page_text, post_password

    response = post_password(Client(), "kobe-new-clerk", NEW_PASSWORD, slug="kobe")
    assert GENERIC_FAILURE in page_text(response)


def test_an_invitee_of_a_body_not_yet_served_is_told_so(invited: str, tenant_a: Tenant) -> None:
    tenant_a.municipality.is_active = False
    tenant_a.municipality.save(update_fields=["is_active"])
    client = Client()
    response = accept(client, invited, "kobe-new-clerk")
    assert response["Location"] == "/"
    page = client.get("/").content.decode()
    assert "この団体はまだサービス開始前のため" in page
    assert User.objects.get(username="kobe-new-clerk").is_active
