"""Staff sign-in: password, then a TOTP second factor, with throttling and rate limits.

No account is ever locked: a lock that anyone can set by typing wrong passwords is a way to keep
a staff member out. Failures (a wrong password or code, for a known or unknown user name alike)
are counted per user name and client address: a client that reaches
``STAFF_LOGIN_MAX_FAILURES`` in a window of ``STAFF_LOGIN_THROTTLE_SECONDS`` waits until the
window ends, for that user name only. Failures of one user name from every address together
have a ceiling (``STAFF_LOGIN_ACCOUNT_CEILING``, far above what a person mistypes): past it,
every client with a failure of its own on that name waits too, while a client without one (the
owner, at their desk) still signs in with the right password and code. All attempts from one
address are limited per minute (``STAFF_LOGIN_RATE_PER_IP``). The answers depend only on the
name typed and the counts, never on whether the user exists, and every attempt is recorded in
the audit log of the municipality signed in to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.japanese import normalize_digits
from madoguchi.core.ratelimit import (
    RateLimitResult,
    listed_hit,
    listed_over,
    listed_peek,
    listed_reset,
    listed_reset_prefix,
    ratelimit_hit,
)
from madoguchi.tenants.models import Membership, Municipality

__all__ = [
    "SignInError",
    "SignInErrorCode",
    "staff_password_check",
    "staff_signin_throttle_clear",
    "staff_signin_throttled",
    "staff_totp_device",
    "staff_totp_enrol_confirm",
    "staff_totp_enrol_start",
    "staff_totp_verify",
    "staff_user_create",
]


class SignInErrorCode(StrEnum):
    INVALID_CREDENTIALS = "invalid_credentials"
    RATE_LIMITED = "rate_limited"
    INVALID_CODE = "invalid_code"


@dataclass
class SignInError(Exception):
    code: SignInErrorCode
    retry_after: int = 0

    @property
    def message(self) -> str:
        minutes = max(1, (self.retry_after + 59) // 60)
        messages = {
            SignInErrorCode.INVALID_CREDENTIALS: _(
                "ユーザー名またはパスワードが正しくありません。"
            ),
            SignInErrorCode.RATE_LIMITED: _(
                "短時間に多くのサインインが試みられました。%(minutes)d分後にもう一度お試しください。"
            )
            % {"minutes": minutes},
            SignInErrorCode.INVALID_CODE: _(
                "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
            ),
        }
        return messages[self.code]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _client_prefix(username: str) -> str:
    return f"signin:fail:client:{_digest(username)}:"


def _client_key(username: str, ip: str) -> str:
    # The user name's digest leads, so that an admin can clear every client's count of one name.
    return f"{_client_prefix(username)}{_digest(username, ip)}"


def _account_key(username: str) -> str:
    return f"signin:fail:account:{_digest(username)}"


def _throttle(username: str, ip: str) -> tuple[str, RateLimitResult] | None:
    """Why this client must wait before trying ``username`` again, or None."""
    window = settings.STAFF_LOGIN_THROTTLE_SECONDS
    mine = listed_peek(
        _client_key(username, ip), limit=settings.STAFF_LOGIN_MAX_FAILURES, window_seconds=window
    )
    if not mine.allowed:
        return "account_client", mine
    if mine.count:
        everyone = listed_peek(
            _account_key(username),
            limit=settings.STAFF_LOGIN_ACCOUNT_CEILING,
            window_seconds=window,
        )
        if not everyone.allowed:
            return "account_ceiling", everyone
    return None


def _refuse_if_throttled(
    *, username: str, ip: str, municipality: Municipality | None, actor: AuditActor
) -> None:
    throttled = _throttle(username, ip)
    if throttled is None:
        return
    reason, result = throttled
    audit_event(
        municipality=municipality,
        action="auth.rate_limited",
        actor=actor,
        data={"username": username, "reason": reason},
    )
    raise SignInError(SignInErrorCode.RATE_LIMITED, result.retry_after)


def _record_failure(
    *, username: str, ip: str, municipality: Municipality | None, actor: AuditActor, step: str
) -> SignInError:
    """Count a failed step for this user name, from this client and from all of them."""
    window = settings.STAFF_LOGIN_THROTTLE_SECONDS
    mine = listed_hit(
        _client_key(username, ip), limit=settings.STAFF_LOGIN_MAX_FAILURES, window_seconds=window
    )
    listed_hit(
        _account_key(username), limit=settings.STAFF_LOGIN_ACCOUNT_CEILING, window_seconds=window
    )
    if mine.count == mine.limit:
        audit_event(
            municipality=municipality,
            action="auth.throttled",
            actor=actor,
            data={"username": username, "step": step, "seconds": window},
        )
    return SignInError(
        SignInErrorCode.INVALID_CODE if step == "otp" else SignInErrorCode.INVALID_CREDENTIALS
    )


def staff_signin_throttled(*, usernames: list[str]) -> set[str]:
    """Those of ``usernames`` that some client must now wait to try again (one query)."""
    over = listed_over(
        "signin:fail:client:",
        limit=settings.STAFF_LOGIN_MAX_FAILURES,
        window_seconds=settings.STAFF_LOGIN_THROTTLE_SECONDS,
    )
    names = {_client_prefix(name): name for name in usernames}
    width = len(_client_prefix(""))  # every prefix has the digest's fixed length
    return {names[key[:width]] for key in over if key[:width] in names}


def staff_signin_throttle_clear(*, username: str) -> bool:
    """Forget the failed sign-ins of ``username`` from every client; True if any were counted."""
    cleared = listed_reset_prefix(_client_prefix(username))
    cleared += listed_reset_prefix(_account_key(username))
    return cleared > 0


def _is_member(user: User, municipality: Municipality | None) -> bool:
    if municipality is None:  # the platform (Django admin) is for operators only
        return user.is_superuser
    return Membership.objects.filter(user=user, municipality=municipality).exists()


def staff_password_check(
    *, municipality: Municipality | None, username: str, password: str, ip: str
) -> User:
    """First step: the password. Returns the user, or raises SignInError.

    Staff of another municipality get the same answer as a wrong password.
    """
    username = username[:150]
    actor = AuditActor(ip=ip, label=username)
    limited = ratelimit_hit(
        f"signin:{ip}", limit=settings.STAFF_LOGIN_RATE_PER_IP, window_seconds=60
    )
    if not limited.allowed:
        audit_event(
            municipality=municipality,
            action="auth.rate_limited",
            actor=actor,
            data={"username": username},
        )
        raise SignInError(SignInErrorCode.RATE_LIMITED, limited.retry_after)
    _refuse_if_throttled(username=username, ip=ip, municipality=municipality, actor=actor)

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        # Hash anyway so that response times do not reveal which usernames exist.
        make_password(password)
        audit_event(
            municipality=municipality,
            action="auth.login_failed",
            actor=actor,
            data={"username": username, "reason": "unknown_user"},
        )
        raise _record_failure(
            username=username, ip=ip, municipality=municipality, actor=actor, step="password"
        )

    actor = AuditActor(user=user, ip=ip)

    if not user.check_password(password):
        audit_event(
            municipality=municipality,
            action="auth.login_failed",
            actor=actor,
            obj=user,
            data={"username": user.get_username(), "reason": "bad_password"},
        )
        raise _record_failure(
            username=username, ip=ip, municipality=municipality, actor=actor, step="password"
        )
    if not _is_member(user, municipality):
        # The right password at the wrong municipality (a wrong bookmark) is not an attack on
        # the account: refused like a wrong password, but it does not count as a failure.
        audit_event(
            municipality=municipality,
            action="auth.login_failed",
            actor=actor,
            obj=user,
            data={"username": user.get_username(), "reason": "not_member"},
        )
        raise SignInError(SignInErrorCode.INVALID_CREDENTIALS)
    return user


def staff_totp_device(*, user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if enrolled."""
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device


def _clean_token(token: str) -> str:
    return normalize_digits(token)


def staff_totp_verify(
    *, municipality: Municipality | None, user: User, device: TOTPDevice, token: str, ip: str
) -> None:
    """Second step: the one-time code. Raises SignInError; on success records the sign-in.

    Refused with ``rate_limited`` when this client has to wait for this user (failures of
    other clients change nothing here); a completed sign-in clears this client's failures.
    """
    actor = AuditActor(user=user, ip=ip)
    username = user.get_username()
    _refuse_if_throttled(username=username, ip=ip, municipality=municipality, actor=actor)
    cleaned = _clean_token(token)
    if not (cleaned.isdigit() and len(cleaned) == 6 and device.verify_token(cleaned)):
        audit_event(
            municipality=municipality,
            action="auth.otp_failed",
            actor=actor,
            obj=user,
        )
        raise _record_failure(
            username=username, ip=ip, municipality=municipality, actor=actor, step="otp"
        )
    listed_reset(_client_key(username, ip))
    audit_event(municipality=municipality, action="auth.login", actor=actor, obj=user)


@transaction.atomic
def staff_totp_enrol_start(*, user: User) -> TOTPDevice:
    """A fresh unconfirmed authenticator for this sign-in's enrolment.

    Each password step gets its own secret, replacing earlier unconfirmed ones, so a secret
    shown to one session (perhaps someone else's, with a leaked password) is never the one
    another session confirms.
    """
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def staff_totp_enrol_confirm(
    *, municipality: Municipality | None, user: User, device: TOTPDevice, token: str, ip: str
) -> None:
    """Confirm enrolment with a first correct code; that also completes the sign-in."""
    # Not one transaction: a wrong code must stay counted and audited when this raises.
    staff_totp_verify(municipality=municipality, user=user, device=device, token=token, ip=ip)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        audit_event(
            municipality=municipality,
            action="auth.otp_enrolled",
            actor=AuditActor(user=user, ip=ip),
            obj=user,
        )


@transaction.atomic
def staff_user_create(
    *, username: str, password: str, display_name: str = "", email: str = ""
) -> User:
    """A staff account with an Argon2 password hash; it must enrol a TOTP device to sign in."""
    user = User(username=username, display_name=display_name, email=email, is_staff=False)
    user.set_password(password)
    user.save()
    return user
