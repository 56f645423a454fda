"""The staff sign-in of madoguchi.accounts, driven over HTTP: password, then a TOTP code."""

from __future__ import annotations

import base64
import datetime
import re
import time
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import Settings

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.accounts.views import PENDING_KEY
from madoguchi.audit.models import PLATFORM_CHAIN, AuditEntry
from tests.accounts.flow import (
    GENERIC_FAILURE,
    INVALID_CODE,
    page_text,
    post_code,
    post_password,
    totp_code,
    wrong_code,
)
from tests.isolation import PASSWORD, Tenant, snapshot
from tests.tenants.factories import TOTPDeviceFactory, UserFactory

LOGIN = "/kobe/staff/login/"
CODE = "/kobe/staff/login/code/"
CONSOLE = "/kobe/staff/"


@pytest.fixture
def clerk(tenant_a: Tenant) -> User:
    """神戸市's clerk, with an enrolled authenticator."""
    user = tenant_a.staff["clerk"]
    TOTPDeviceFactory(user=user)
    return user


def device_of(user: User) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user)


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def auth_actions(chain: str = "281000") -> list[str]:
    """The ``auth.*`` actions recorded in a chain, oldest first."""
    entries = AuditEntry.objects.filter(chain=chain, action__startswith="auth.").order_by("id")
    return list(entries.values_list("action", flat=True))


def sign_in(client: Client, user: User, *, slug: str | None = "kobe") -> None:
    """Pass both steps (the user must have a confirmed device)."""
    assert post_password(client, user.username, slug=slug).status_code == 302
    assert post_code(client, totp_code(device_of(user)), slug=slug).status_code == 302


# --- password, then code -------------------------------------------------------------------


def test_the_correct_password_alone_does_not_sign_in(clerk: User) -> None:
    """After the password step the session only holds a pending sign-in; the console refuses."""
    client = Client()
    response = post_password(client, "kobe-clerk")

    assert (response.status_code, response["Location"]) == (302, CODE)
    assert signed_in_user_id(client) is None
    assert client.session[PENDING_KEY]["user"] == clerk.pk
    console = client.get(CONSOLE)
    assert (console.status_code, console["Location"]) == (302, f"{LOGIN}?next=%2Fkobe%2Fstaff%2F")
    assert auth_actions() == []


def test_password_then_the_correct_code_signs_in(clerk: User) -> None:
    """A staff member is signed in only after the second factor; the console then answers."""
    client = Client()
    post_password(client, "kobe-clerk")
    response = post_code(client, totp_code(device_of(clerk)))

    assert (response.status_code, response["Location"]) == (302, CONSOLE)
    assert signed_in_user_id(client) == str(clerk.pk)
    assert PENDING_KEY not in client.session
    assert client.get(CONSOLE).status_code == 200
    login = AuditEntry.objects.get(action="auth.login")
    assert (login.chain, login.actor_label, login.object_id) == (
        "281000",
        "kobe-clerk",
        str(clerk.pk),
    )
    assert (login.ip, login.object_type) == ("127.0.0.1", "accounts.user")


def test_a_code_cannot_be_used_twice(clerk: User) -> None:
    """A code seen over someone's shoulder is useless once its owner has signed in with it."""
    owner = Client()
    post_password(owner, "kobe-clerk")
    code = totp_code(device_of(clerk))
    post_code(owner, code)
    assert signed_in_user_id(owner) == str(clerk.pk)

    replay = Client()
    post_password(replay, "kobe-clerk")
    response = post_code(replay, code)

    assert response.status_code == 200
    assert INVALID_CODE in page_text(response)
    assert signed_in_user_id(replay) is None


def test_the_code_page_without_a_password_step_goes_back_to_the_login(clerk: User) -> None:
    """A code alone, with no password step before it, signs nobody in."""
    client = Client()
    response = post_code(client, totp_code(device_of(clerk)))
    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert signed_in_user_id(client) is None
    assert device_of(clerk).last_t == -1


# --- enrolment on first sign-in ------------------------------------------------------------


def enrolment_secret(page: str) -> str:
    match = re.search(r'<span class="code" id="totp-secret">([A-Z2-7 ]+)</span>', page)
    assert match is not None, "no setup key on the page"
    return match.group(1).replace(" ", "")


def code_from_secret(secret: str) -> str:
    """What an authenticator app shows after the setup key was typed into it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


def test_first_sign_in_shows_a_qr_code_and_the_secret(tenant_a: Tenant) -> None:
    """A user without an authenticator is shown an inline SVG QR code and the base32 key."""
    user = tenant_a.staff["clerk"]
    client = Client()
    post_password(client, "kobe-clerk")
    response = client.get(CODE)

    page = page_text(response)
    assert response.status_code == 200
    assert "認証アプリの登録" in page
    assert re.search(r'<div class="qr"><svg[^>]*>.*</svg></div>', page, re.DOTALL)
    assert "<title>認証アプリ登録用のQRコード</title>" in page
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    assert enrolment_secret(page) == base64.b32encode(device.bin_key).decode().rstrip("=")
    assert signed_in_user_id(client) is None


def test_a_code_from_the_shown_secret_confirms_the_device_and_signs_in(tenant_a: Tenant) -> None:
    """Typing the shown key into an app and its first code confirms the device and signs in."""
    user = tenant_a.staff["clerk"]
    client = Client()
    post_password(client, "kobe-clerk")
    secret = enrolment_secret(page_text(client.get(CODE)))

    response = post_code(client, code_from_secret(secret))

    assert (response.status_code, response["Location"]) == (302, CONSOLE)
    assert signed_in_user_id(client) == str(user.pk)
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is True
    assert auth_actions() == ["auth.login", "auth.otp_enrolled"]
    assert client.get(CONSOLE).status_code == 200


def test_a_wrong_code_does_not_confirm_the_device(tenant_a: Tenant) -> None:
    """The enrolment page is shown again with the same key; nothing is confirmed."""
    user = tenant_a.staff["clerk"]
    client = Client()
    post_password(client, "kobe-clerk")
    secret = enrolment_secret(page_text(client.get(CODE)))

    response = post_code(client, wrong_code(TOTPDevice.objects.get(user=user)))

    page = page_text(response)
    assert response.status_code == 200
    assert INVALID_CODE in page
    assert enrolment_secret(page) == secret
    assert list(TOTPDevice.objects.filter(user=user).values_list("confirmed", flat=True)) == [False]
    assert signed_in_user_id(client) is None
    assert auth_actions() == ["auth.otp_failed"]


def test_an_enrolment_secret_shown_to_one_session_is_not_offered_to_the_next(
    tenant_a: Tenant,
) -> None:
    """Each password step gets a fresh key; an earlier visitor's key can no longer be confirmed.

    Otherwise someone who passed the password step first (with a leaked password) would know
    the secret that the real user confirms later.
    """
    earlier = Client()
    post_password(earlier, "kobe-clerk")
    seen_by_earlier_visitor = enrolment_secret(page_text(earlier.get(CODE)))

    owner = Client()
    post_password(owner, "kobe-clerk")
    offered_to_owner = enrolment_secret(page_text(owner.get(CODE)))
    response = post_code(earlier, code_from_secret(seen_by_earlier_visitor))

    assert offered_to_owner != seen_by_earlier_visitor
    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert signed_in_user_id(earlier) is None
    assert "もう一度ユーザー名とパスワードを入力して、登録をやり直してください。" in page_text(
        earlier.get(LOGIN)
    )
    user = tenant_a.staff["clerk"]
    assert list(TOTPDevice.objects.filter(user=user).values_list("confirmed", flat=True)) == [False]
    assert post_code(owner, code_from_secret(offered_to_owner))["Location"] == CONSOLE


# --- wrong passwords and throttling --------------------------------------------------------


def error_summary(response: HttpResponse) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', page_text(response), re.DOTALL)
    assert match is not None
    return match.group(0)


def test_unknown_user_and_wrong_password_get_the_same_message(clerk: User) -> None:
    """Nobody can tell from the answer whether a username exists; both failures are audited."""
    client = Client()
    unknown = post_password(client, "kobe-nobody", PASSWORD)
    wrong = post_password(client, "kobe-clerk", "not the password")

    assert unknown.status_code == wrong.status_code == 200
    assert GENERIC_FAILURE in page_text(unknown)
    assert error_summary(unknown) == error_summary(wrong)
    assert PENDING_KEY not in client.session
    failures = AuditEntry.objects.filter(action="auth.login_failed").order_by("id")
    assert [(e.chain, e.actor_label, e.data) for e in failures] == [
        ("281000", "kobe-nobody", {"username": "kobe-nobody", "reason": "unknown_user"}),
        ("281000", "kobe-clerk", {"username": "kobe-clerk", "reason": "bad_password"}),
    ]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The rate limiter's clock, at the start of a 900-second window; tests move it forward."""
    now = SimpleNamespace(value=float(int(time.time()) // 900 * 900 + 1))
    monkeypatch.setattr("madoguchi.core.ratelimit.time", SimpleNamespace(time=lambda: now.value))
    return now


def answers(client: Client, username: str, count: int) -> list[tuple[int, str]]:
    """(status, error summary) of ``count`` wrong passwords for ``username``."""
    out = []
    for _ in range(count):
        response = post_password(client, username, "wrong password 1234")
        out.append((response.status_code, error_summary(response)))
    return out


@pytest.mark.usefixtures("clock")
def test_unknown_and_known_user_names_get_the_same_answer_at_every_attempt(
    clerk: User, settings: Settings
) -> None:
    """Before, the 6th wrong password answered 「ロックされています」 for existing names only."""
    settings.STAFF_LOGIN_MAX_FAILURES = 3
    known = answers(Client(REMOTE_ADDR="198.51.100.4"), "kobe-clerk", 6)
    unknown = answers(Client(REMOTE_ADDR="198.51.100.5"), "kobe-nobody", 6)

    assert known == unknown
    assert [status for status, _ in known] == [200, 200, 200, 429, 429, 429]
    assert "ロック" not in "".join(text for _, text in known)
    throttled = AuditEntry.objects.filter(action="auth.throttled").order_by("id")
    assert [(e.chain, e.data) for e in throttled] == [
        ("281000", {"username": "kobe-clerk", "step": "password", "seconds": 900}),
        ("281000", {"username": "kobe-nobody", "step": "password", "seconds": 900}),
    ]


def test_wrong_passwords_slow_their_client_and_never_lock_out_the_staff_member(
    clerk: User, settings: Settings, clock: SimpleNamespace
) -> None:
    """An attacker's client waits; the real user, from another client, signs in."""
    settings.STAFF_LOGIN_MAX_FAILURES = 3
    attacker = Client(REMOTE_ADDR="198.51.100.4")
    answers(attacker, "kobe-clerk", 3)

    refused = post_password(attacker, "kobe-clerk")  # even the right password

    assert refused.status_code == 429
    assert refused["Retry-After"] == "899"
    assert "短時間に多くのサインインが試みられました。15分後にもう一度お試しください。" in (
        page_text(refused)
    )
    assert PENDING_KEY not in attacker.session
    assert auth_actions()[-2:] == ["auth.throttled", "auth.rate_limited"]
    rate_limited = AuditEntry.objects.filter(action="auth.rate_limited").get()
    assert rate_limited.data == {"username": "kobe-clerk", "reason": "account_client"}

    owner = Client()
    sign_in(owner, clerk)
    assert signed_in_user_id(owner) == str(clerk.pk)

    # When the window has passed, the attacker's client may try again (and is slowed again).
    clock.value += 900
    assert post_password(attacker, "kobe-clerk", "wrong").status_code == 200


def test_wrong_codes_count_for_the_client_that_sent_them(
    clerk: User, settings: Settings, clock: SimpleNamespace
) -> None:
    """One wrong password and two wrong codes from one client: that client waits."""
    settings.STAFF_LOGIN_MAX_FAILURES = 3
    client = Client()
    post_password(client, "kobe-clerk", "wrong")
    post_password(client, "kobe-clerk")
    bad = wrong_code(device_of(clerk))
    assert INVALID_CODE in page_text(post_code(client, bad))

    second = post_code(client, bad)
    assert second.status_code == 200
    assert INVALID_CODE in page_text(second)

    third = post_code(client, totp_code(device_of(clerk)))
    assert (third.status_code, third["Location"]) == (302, LOGIN)
    assert PENDING_KEY not in client.session
    assert signed_in_user_id(client) is None
    assert "短時間に多くのサインインが試みられました。" in page_text(client.get(LOGIN))
    assert post_password(client, "kobe-clerk").status_code == 429
    assert auth_actions() == [
        "auth.login_failed",
        "auth.otp_failed",
        "auth.otp_failed",
        "auth.throttled",
        "auth.rate_limited",
        "auth.rate_limited",
    ]
    assert AuditEntry.objects.get(action="auth.throttled").data == {
        "username": "kobe-clerk",
        "step": "otp",
        "seconds": 900,
    }
    sign_in(Client(REMOTE_ADDR="192.0.2.9"), clerk)


@pytest.mark.usefixtures("clock")
def test_someone_else_s_failures_do_not_refuse_the_pending_correct_code(
    clerk: User, settings: Settings
) -> None:
    """Wrong passwords from elsewhere between the user's two steps change nothing for them."""
    settings.STAFF_LOGIN_MAX_FAILURES = 2
    user = Client()
    post_password(user, "kobe-clerk")
    attacker = Client(REMOTE_ADDR="198.51.100.4")
    answers(attacker, "kobe-clerk", 4)

    response = post_code(user, totp_code(device_of(clerk)))

    assert (response.status_code, response["Location"]) == (302, CONSOLE)
    assert signed_in_user_id(user) == str(clerk.pk)


@pytest.mark.usefixtures("clock")
def test_the_account_ceiling_slows_clients_with_failures_but_not_a_clean_one(
    clerk: User, settings: Settings
) -> None:
    """Many addresses guessing one account: past the ceiling, each of them waits after its
    first failure, while a client with no failure (the owner) still signs in."""
    settings.STAFF_LOGIN_MAX_FAILURES = 3
    settings.STAFF_LOGIN_ACCOUNT_CEILING = 4
    guessers = [Client(REMOTE_ADDR=f"198.51.100.{n}") for n in range(1, 5)]
    for guesser in guessers:
        assert [status for status, _ in answers(guesser, "kobe-clerk", 1)] == [200]

    refused = post_password(guessers[0], "kobe-clerk")

    assert refused.status_code == 429
    assert AuditEntry.objects.filter(action="auth.rate_limited").get().data == {
        "username": "kobe-clerk",
        "reason": "account_ceiling",
    }
    # A new address gets its one failure, then waits like the others.
    newcomer = Client(REMOTE_ADDR="203.0.113.7")
    assert [status for status, _ in answers(newcomer, "kobe-clerk", 2)] == [200, 429]
    # Unknown names reach the same ceiling the same way.
    for guesser in guessers:
        answers(guesser, "kobe-nobody", 1)
    assert post_password(guessers[0], "kobe-nobody").status_code == 429

    owner = Client()
    sign_in(owner, clerk)
    assert signed_in_user_id(owner) == str(clerk.pk)


@pytest.mark.usefixtures("clock")
def test_a_completed_sign_in_clears_the_client_s_failures(clerk: User, settings: Settings) -> None:
    """Two typos, a sign-in, then three more typos from the same client: a fresh count."""
    settings.STAFF_LOGIN_MAX_FAILURES = 3
    client = Client()
    answers(client, "kobe-clerk", 2)
    sign_in(client, clerk)
    client.logout()
    assert [status for status, _ in answers(client, "kobe-clerk", 4)] == [200, 200, 200, 429]


# --- the code as typed ---------------------------------------------------------------------

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: f"{code[:3]} {code[3:]}".translate(FULLWIDTH),
        lambda code: f"{code[:3]}\u3000{code[3:]}".translate(FULLWIDTH),
        lambda code: f" {code[:3]} {code[3:]} ",
    ],
    ids=["fullwidth-with-space", "fullwidth-with-ideographic-space", "halfwidth-with-spaces"],
)
def test_fullwidth_digits_and_spaces_in_the_code_are_accepted(clerk: User, typed: Any) -> None:
    """「１２３ ４５６」 as an IME types it is the code 123456."""
    client = Client()
    post_password(client, "kobe-clerk")
    response = post_code(client, typed(totp_code(device_of(clerk))))
    assert (response.status_code, response["Location"]) == (302, CONSOLE)
    assert signed_in_user_id(client) == str(clerk.pk)


# --- the other municipality ----------------------------------------------------------------


def test_staff_of_another_municipality_cannot_sign_in(clerk: User, tenant_b: Tenant) -> None:
    """佐用町's clerk with the right password gets the generic refusal at 神戸市."""
    TOTPDeviceFactory(user=tenant_b.staff["clerk"])
    client = Client()
    outsider = post_password(client, "sayo-clerk")
    wrong = post_password(client, "kobe-clerk", "wrong")

    assert outsider.status_code == 200
    assert GENERIC_FAILURE in page_text(outsider)
    assert error_summary(outsider) == error_summary(wrong)
    assert PENDING_KEY not in client.session
    failure = AuditEntry.objects.filter(action="auth.login_failed").order_by("id").first()
    assert failure is not None
    assert (failure.chain, failure.actor_label, failure.data["reason"]) == (
        "281000",
        "sayo-clerk",
        "not_member",
    )
    assert auth_actions("285013") == []
    # A wrong bookmark does not count as a failure: the fourth try is not throttled.
    assert [post_password(client, "sayo-clerk").status_code for _ in range(5)] == [200] * 5


def test_a_password_step_at_one_municipality_is_no_use_at_another(
    clerk: User, tenant_b: Tenant
) -> None:
    """A pending sign-in at 神戸市 does not open 佐用町's code step."""
    client = Client()
    post_password(client, "kobe-clerk")
    response = post_code(client, totp_code(device_of(clerk)), slug="sayo")
    assert (response.status_code, response["Location"]) == (302, "/sayo/staff/login/")
    assert signed_in_user_id(client) is None
    assert auth_actions("285013") == []


# --- the pending password step -------------------------------------------------------------


def test_the_password_step_expires_after_300_seconds(clerk: User) -> None:
    """A correct code after more than 5 minutes sends the user back to the password step."""
    client = Client()
    post_password(client, "kobe-clerk")
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "at": time.time() - 301}
    session.save()

    response = post_code(client, totp_code(device_of(clerk)))

    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert signed_in_user_id(client) is None
    assert "時間が経ったため、もう一度ユーザー名とパスワードを入力してください。" in page_text(
        client.get(LOGIN)
    )
    assert auth_actions() == []


def test_the_password_step_is_still_valid_just_before_300_seconds(clerk: User) -> None:
    """290 seconds after the password step, the code step still signs in."""
    client = Client()
    post_password(client, "kobe-clerk")
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "at": time.time() - 290}
    session.save()

    assert post_code(client, totp_code(device_of(clerk)))["Location"] == CONSOLE


# --- rate limit per address ----------------------------------------------------------------


@pytest.fixture
def frozen_ratelimit_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the rate limiter in the middle of one 60-second window for the whole test."""
    middle = float(int(time.time()) // 60 * 60 + 30)
    monkeypatch.setattr("madoguchi.core.ratelimit.time", SimpleNamespace(time=lambda: middle))


@pytest.mark.usefixtures("frozen_ratelimit_clock")
def test_the_fourth_attempt_from_one_address_is_rate_limited(
    clerk: User, settings: Settings
) -> None:
    """429 with Retry-After, even for the correct password; other addresses are unaffected."""
    settings.STAFF_LOGIN_RATE_PER_IP = 3
    client = Client()
    first = [post_password(client, "kobe-clerk", "wrong").status_code for _ in range(3)]

    response = post_password(client, "kobe-clerk")

    assert first == [200, 200, 200]
    assert response.status_code == 429
    assert response["Retry-After"] == "30"  # the seconds left in the pinned window
    assert "短時間に多くのサインインが試みられました。1分後にもう一度お試しください。" in (
        page_text(response)
    )
    assert PENDING_KEY not in client.session
    assert auth_actions()[-1] == "auth.rate_limited"
    other = Client(REMOTE_ADDR="192.0.2.9")
    assert post_password(other, "kobe-clerk")["Location"] == CODE


# --- where the user lands ------------------------------------------------------------------


def test_a_safe_relative_next_is_followed_after_sign_in(tenant_a: Tenant) -> None:
    """A relative ``next`` survives both steps, query string included."""
    admin = tenant_a.staff["admin"]
    TOTPDeviceFactory(user=admin)
    client = Client()
    form = client.get(f"{LOGIN}?next=/kobe/staff/audit/%3Fkind%3Devent")
    assert '<input type="hidden" name="next" value="/kobe/staff/audit/?kind=event">' in (
        page_text(form)
    )

    post_password(client, "kobe-admin", next="/kobe/staff/audit/?kind=event")
    response = post_code(client, totp_code(device_of(admin)))

    assert response["Location"] == "/kobe/staff/audit/?kind=event"
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/kobe/staff/", "//evil.example/", "http://testserver.evil.example/"],
)
def test_a_next_to_another_host_is_ignored(clerk: User, next_url: str) -> None:
    """An absolute or scheme-relative ``next`` to another host lands on the console instead."""
    client = Client()
    post_password(client, "kobe-clerk", next=next_url)
    response = post_code(client, totp_code(device_of(clerk)))
    assert response["Location"] == CONSOLE


# --- logout --------------------------------------------------------------------------------


def test_logout_ends_the_session_and_is_audited(tenant_a: Tenant) -> None:
    """POST logout signs out, sends to the sign-in and records ``auth.logout`` in 神戸市's chain."""
    client = tenant_a.client("clerk")
    response = client.post("/kobe/staff/logout/")

    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert signed_in_user_id(client) is None
    assert client.get(CONSOLE)["Location"] == f"{LOGIN}?next=%2Fkobe%2Fstaff%2F"
    logout = AuditEntry.objects.get(action="auth.logout")
    assert (logout.chain, logout.actor_label) == ("281000", "kobe-clerk")


def test_logout_by_get_is_not_allowed(tenant_a: Tenant) -> None:
    """A link (or an <img> on another site) cannot sign a member out."""
    client = tenant_a.client("clerk")
    assert client.get("/kobe/staff/logout/").status_code == 405
    assert client.get(CONSOLE).status_code == 200
    assert auth_actions() == []


def test_staff_of_another_municipality_cannot_write_to_this_log_by_logging_out(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """Logging out at 神戸市's URL as 佐用町's admin records nothing in 神戸市's chain."""
    kobe_log = AuditEntry.objects.filter(chain="281000")
    before = snapshot(kobe_log)
    tenant_b.client("admin").post("/kobe/staff/logout/")
    assert snapshot(kobe_log) == before


# --- sessions ------------------------------------------------------------------------------


def test_sessions_expire_after_30_idle_minutes_by_default(settings: Settings) -> None:
    """MADOGUCHI_SESSION_IDLE_SECONDS is unset in the suite, so its default applies."""
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def session_expiry(client: Client) -> datetime.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_every_request_pushes_the_session_expiry_forward(clerk: User) -> None:
    """The age is an idle timeout: a request made with 60 s left restores the full 1800 s."""
    client = Client()
    sign_in(client, clerk)
    remaining = (session_expiry(client) - timezone.now()).total_seconds()
    assert 1790 < remaining <= 1800

    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + datetime.timedelta(seconds=60)
    )
    assert client.get(CONSOLE).status_code == 200

    remaining = (session_expiry(client) - timezone.now()).total_seconds()
    assert 1790 < remaining <= 1800


def test_a_session_past_its_expiry_is_no_longer_signed_in(clerk: User) -> None:
    """A session idle past its expiry is treated as signed out."""
    client = Client()
    sign_in(client, clerk)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    response = client.get(CONSOLE)

    assert (response.status_code, response["Location"]) == (302, f"{LOGIN}?next=%2Fkobe%2Fstaff%2F")


# --- passwords -----------------------------------------------------------------------------


def test_passwords_are_stored_with_argon2(db: None) -> None:
    """New staff passwords are hashed with Argon2id, never stored as given."""
    user = staff_user_create(username="new-staff", password=PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert PASSWORD not in user.password
    assert user.check_password(PASSWORD)


# --- the platform sign-in (Django admin) ---------------------------------------------------


def test_the_platform_login_refuses_a_non_superuser(tenant_a: Tenant) -> None:
    """A municipality's admin is no platform operator: same generic refusal."""
    client = Client()
    response = post_password(client, "kobe-admin", slug=None)

    assert response.status_code == 200
    assert GENERIC_FAILURE in page_text(response)
    assert PENDING_KEY not in client.session
    failure = AuditEntry.objects.get(chain=PLATFORM_CHAIN, action="auth.login_failed")
    assert (failure.actor_label, failure.data["reason"]) == ("kobe-admin", "not_member")


def test_a_superuser_signs_in_to_the_operator_console_with_both_steps(db: None) -> None:
    """The platform sign-in takes a superuser through both steps to the operator console."""
    operator = UserFactory(username="operator", is_staff=True, is_superuser=True)
    TOTPDeviceFactory(user=operator)
    client = Client()

    assert post_password(client, "operator", slug=None)["Location"] == "/staff/login/code/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    response = post_code(client, totp_code(device_of(operator)), slug=None)

    assert response["Location"] == "/operator/"
    assert client.get("/operator/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert auth_actions(PLATFORM_CHAIN) == ["auth.login"]


@pytest.mark.parametrize("signed_in_without_code", [False, True])
def test_the_admin_sends_unverified_visitors_to_the_platform_login(
    db: None, signed_in_without_code: bool
) -> None:
    """Neither an anonymous visitor nor a superuser without the second factor sees the admin."""
    client = Client()
    if signed_in_without_code:
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1] == ("/staff/login/?next=%2Fadmin%2F", 302)
    assert response.status_code == 200
    assert "運用管理者用のページです。" in page_text(response)


# --- madoguchi totp ------------------------------------------------------------------------


def test_totp_code_prints_a_code_that_the_sign_in_accepts(clerk: User) -> None:
    """``madoguchi totp code`` prints six digits that the code step accepts."""
    out = StringIO()
    call_command("totp", "code", "kobe-clerk", stdout=out)
    code = out.getvalue()
    assert re.fullmatch(r"\d{6}\n", code)

    client = Client()
    post_password(client, "kobe-clerk")
    response = post_code(client, code.strip())

    assert response["Location"] == CONSOLE
    assert signed_in_user_id(client) == str(clerk.pk)


def test_totp_reset_ends_the_second_factor_of_open_sessions(tenant_a: Tenant) -> None:
    """A session verified with the removed device is sent back to the sign-in."""
    client = tenant_a.client("clerk")
    assert client.get(CONSOLE).status_code == 200

    call_command("totp", "reset", "kobe-clerk", stdout=StringIO())

    assert client.get(CONSOLE)["Location"] == f"{LOGIN}?next=%2Fkobe%2Fstaff%2F"


def test_totp_code_needs_a_confirmed_device_and_a_known_user(tenant_a: Tenant) -> None:
    """Without a confirmed device, or for an unknown user, the command fails clearly."""
    with pytest.raises(CommandError, match=r"^kobe-clerk has no confirmed authenticator$"):
        call_command("totp", "code", "kobe-clerk", stdout=StringIO())
    with pytest.raises(CommandError, match=r"^no user named 'nobody'$"):
        call_command("totp", "code", "nobody", stdout=StringIO())


def test_totp_reset_removes_the_device_so_the_user_enrols_again(clerk: User) -> None:
    """``madoguchi totp reset`` deletes the device, is audited, and the next sign-in enrols."""
    out = StringIO()
    call_command("totp", "reset", "kobe-clerk", stdout=out)

    assert out.getvalue() == "removed 1 authenticator(s) of kobe-clerk\n"
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    reset = AuditEntry.objects.get(action="auth.otp_reset")
    assert (reset.chain, reset.actor_label, reset.object_id) == (
        PLATFORM_CHAIN,
        "cli:totp",
        str(clerk.pk),
    )
    client = Client()
    post_password(client, "kobe-clerk")
    assert "認証アプリの登録" in page_text(client.get(CODE))
