"""Staff sign-in: password, then a TOTP second factor, with lockout and rate limits.

Every failure counts towards the account's lockout, whichever step it happened at, and every
attempt is recorded in the audit log of the municipality signed in to.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.japanese import normalize_digits
from madoguchi.core.ratelimit import ratelimit_hit
from madoguchi.tenants.models import Membership, Municipality

__all__ = [
    "SignInError",
    "SignInErrorCode",
    "staff_password_check",
    "staff_totp_device",
    "staff_totp_enrol_confirm",
    "staff_totp_enrol_start",
    "staff_totp_verify",
    "staff_user_create",
]


class SignInErrorCode(StrEnum):
    INVALID_CREDENTIALS = "invalid_credentials"
    LOCKED = "locked"
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
            SignInErrorCode.LOCKED: _(
                "サインインの失敗が続いたため、このアカウントは一時的にロックされています。"
                "%(minutes)d分後にもう一度お試しください。"
            )
            % {"minutes": minutes},
            SignInErrorCode.RATE_LIMITED: _(
                "短時間に多くのサインインが試みられました。%(minutes)d分後にもう一度お試しください。"
            )
            % {"minutes": minutes},
            SignInErrorCode.INVALID_CODE: _(
                "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
            ),
        }
        return messages[self.code]


def _seconds_locked(user: User, now: datetime.datetime) -> int:
    if user.locked_until is None or user.locked_until <= now:
        return 0
    return int((user.locked_until - now).total_seconds()) + 1


def _record_failure(
    *, user: User, municipality: Municipality | None, actor: AuditActor, step: str
) -> SignInError:
    """Count a failed step; lock the account when the run of failures reaches the limit."""
    User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
    user.refresh_from_db(fields=["failed_login_count", "locked_until"])
    if user.failed_login_count >= settings.STAFF_LOGIN_MAX_FAILURES:
        lockout = settings.STAFF_LOGIN_LOCKOUT_SECONDS
        user.locked_until = timezone.now() + datetime.timedelta(seconds=lockout)
        user.failed_login_count = 0
        user.save(update_fields=["locked_until", "failed_login_count"])
        audit_event(
            municipality=municipality,
            action="auth.locked",
            actor=actor,
            obj=user,
            data={"step": step, "seconds": lockout},
        )
        return SignInError(SignInErrorCode.LOCKED, lockout)
    return SignInError(
        SignInErrorCode.INVALID_CODE if step == "otp" else SignInErrorCode.INVALID_CREDENTIALS
    )


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
    actor = AuditActor(ip=ip, label=username[:150])
    limited = ratelimit_hit(
        f"signin:{ip}", limit=settings.STAFF_LOGIN_RATE_PER_IP, window_seconds=60
    )
    if not limited.allowed:
        audit_event(
            municipality=municipality,
            action="auth.rate_limited",
            actor=actor,
            data={"username": username[:150]},
        )
        raise SignInError(SignInErrorCode.RATE_LIMITED, limited.retry_after)

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        # Hash anyway so that response times do not reveal which usernames exist.
        make_password(password)
        audit_event(
            municipality=municipality,
            action="auth.login_failed",
            actor=actor,
            data={"username": username[:150], "reason": "unknown_user"},
        )
        raise SignInError(SignInErrorCode.INVALID_CREDENTIALS)

    actor = AuditActor(user=user, ip=ip)
    locked = _seconds_locked(user, timezone.now())
    if locked:
        audit_event(
            municipality=municipality,
            action="auth.login_refused_locked",
            actor=actor,
            obj=user,
        )
        raise SignInError(SignInErrorCode.LOCKED, locked)

    if not user.check_password(password):
        audit_event(
            municipality=municipality,
            action="auth.login_failed",
            actor=actor,
            obj=user,
            data={"username": user.get_username(), "reason": "bad_password"},
        )
        raise _record_failure(user=user, municipality=municipality, actor=actor, step="password")
    if not _is_member(user, municipality):
        # The right password at the wrong municipality (a wrong bookmark) is not an attack on
        # the account: refused like a wrong password, but it does not count towards the lock.
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
    """Second step: the one-time code. Raises SignInError; on success records the sign-in."""
    actor = AuditActor(user=user, ip=ip)
    user.refresh_from_db(fields=["failed_login_count", "locked_until"])
    locked = _seconds_locked(user, timezone.now())
    if locked:
        raise SignInError(SignInErrorCode.LOCKED, locked)
    cleaned = _clean_token(token)
    if not (cleaned.isdigit() and len(cleaned) == 6 and device.verify_token(cleaned)):
        audit_event(
            municipality=municipality,
            action="auth.otp_failed",
            actor=actor,
            obj=user,
        )
        raise _record_failure(user=user, municipality=municipality, actor=actor, step="otp")
    User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
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
