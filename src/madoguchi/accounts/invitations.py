"""Inviting staff by e-mail: a single-use link to set a password and enrol a second factor.

The account is created with the invitation, inactive and without a usable password, so its
roles can be set before it is accepted. The link's token is random, shown only in the e-mail,
and stored as a SHA-256 hash; it is valid for INVITATION_HOURS and for one acceptance.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import Invitation, User
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.japanese import normalize_digits
from madoguchi.tenants.models import Department, Municipality, Role
from madoguchi.tenants.staffing import membership_set

__all__ = [
    "INVITATION_HOURS",
    "InvitationError",
    "InvitationErrorCode",
    "invitation_accept",
    "invitation_create",
    "invitation_for_token",
    "invitation_password_set",
    "invitation_resend",
]

INVITATION_HOURS = 72
logger = logging.getLogger(__name__)


class InvitationErrorCode(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    USERNAME_TAKEN = "username_taken"
    WEAK_PASSWORD = "weak_password"  # noqa: S105 - an error code
    PASSWORD_MISMATCH = "password_mismatch"  # noqa: S105 - an error code
    PASSWORD_MISSING = "password_missing"  # noqa: S105 - an error code
    INVALID_CODE = "invalid_code"
    NOT_PENDING = "not_pending"


@dataclass
class InvitationError(Exception):
    code: InvitationErrorCode
    details: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        messages = {
            InvitationErrorCode.UNKNOWN: _(
                "この招待リンクは無効です。メールに記載されたリンクを、途中で切れないように"
                "そのまま開いてください。"
            ),
            InvitationErrorCode.EXPIRED: _(
                "この招待リンクは有効期限（%(hours)d時間）が切れています。"
                "管理者に招待の再送を依頼してください。"
            )
            % {"hours": INVITATION_HOURS},
            InvitationErrorCode.USED: _(
                "この招待リンクはすでに使われています。設定したユーザー名とパスワードで"
                "サインインしてください。"
            ),
            InvitationErrorCode.USERNAME_TAKEN: _("このユーザー名はすでに使われています。"),
            InvitationErrorCode.WEAK_PASSWORD: _("このパスワードは使えません。"),
            InvitationErrorCode.PASSWORD_MISMATCH: _(
                "確認のために入力したパスワードが一致しません。"
            ),
            InvitationErrorCode.PASSWORD_MISSING: _("先にパスワードを設定してください。"),
            InvitationErrorCode.INVALID_CODE: _(
                "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
            ),
            InvitationErrorCode.NOT_PENDING: _(
                "この職員はすでにアカウントを使い始めているため、招待を送り直せません。"
            ),
        }
        return messages[self.code]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _send(*, invitation: Invitation, token: str, inviter: str) -> None:
    link = settings.MADOGUCHI_SITE_URL + reverse("invitation-open", kwargs={"token": token})
    place = invitation.municipality.name if invitation.municipality else "madoguchi"
    subject = _("【%(place)s】オンライン窓口の職員アカウントへの招待") % {"place": place}
    body = _(
        "%(inviter)s さんから、%(place)s のオンライン窓口（madoguchi）の職員アカウントに"
        "招待されました。\n\n"
        "ユーザー名：%(username)s\n\n"
        "次のリンクを開き、パスワードを決めて、認証アプリを登録してください。\n"
        "%(link)s\n\n"
        "このリンクは一度だけ使えます。有効期限は %(expires)s です。\n"
        "心当たりのない場合は、このメールを破棄してください。\n"
    ) % {
        "inviter": inviter,
        "place": place,
        "username": invitation.user.get_username(),
        "link": link,
        "expires": timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d %H:%M"),
    }
    try:
        send_mail(subject, body, None, [invitation.email], fail_silently=False)
    except OSError:
        # The invitation stays; the admin can send it again from the staff list.
        logger.exception("could not send the invitation e-mail (%s)", invitation.pk)


def _issue(
    *,
    user: User,
    municipality: Municipality | None,
    email: str,
    actor: AuditActor,
) -> Invitation:
    now = timezone.now()
    Invitation.objects.filter(user=user, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user,
        municipality=municipality,
        email=email,
        token_hash=_hash(token),
        expires_at=now + datetime.timedelta(hours=INVITATION_HOURS),
        created_by=actor.user,
    )
    inviter = str(actor.user) if actor.user else "madoguchi"
    transaction.on_commit(lambda: _send(invitation=invitation, token=token, inviter=inviter))
    return invitation


@transaction.atomic
def invitation_create(
    *,
    municipality: Municipality | None,
    email: str,
    username: str,
    display_name: str,
    role: Role | None,
    department: Department | None,
    actor: AuditActor,
) -> Invitation:
    """Create the (inactive) account with its role and e-mail it a link to accept.

    ``role`` None gives no membership (the caller adds one, e.g. a clinic account's).
    """
    if User.objects.filter(username__iexact=username).exists():
        raise InvitationError(InvitationErrorCode.USERNAME_TAKEN)
    user = User(username=username, email=email, display_name=display_name, is_active=False)
    user.set_unusable_password()
    user.save()
    if municipality is not None and role is not None:
        membership_set(
            municipality=municipality, user=user, department=department, role=role, actor=actor
        )
    invitation = _issue(user=user, municipality=municipality, email=email, actor=actor)
    audit_event(
        municipality=municipality,
        action="invitation.create",
        actor=actor,
        obj=user,
        data={
            "username": username,
            "role": str(role) if role else None,
            "department": department.code if department else None,
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    return invitation


@transaction.atomic
def invitation_resend(
    *, municipality: Municipality | None, user: User, actor: AuditActor
) -> Invitation:
    """A new link for an account that has not accepted yet; earlier links stop working."""
    if user.is_active or user.last_login is not None:
        raise InvitationError(InvitationErrorCode.NOT_PENDING)
    invitation = _issue(user=user, municipality=municipality, email=user.email, actor=actor)
    audit_event(
        municipality=municipality,
        action="invitation.resend",
        actor=actor,
        obj=user,
        data={"username": user.get_username(), "expires_at": invitation.expires_at.isoformat()},
    )
    return invitation


def invitation_for_token(*, token: str) -> Invitation:
    """The pending invitation of this link, or InvitationError (unknown, used, expired)."""
    invitation = (
        Invitation.objects.select_related("user", "municipality")
        .filter(token_hash=_hash(token))
        .first()
    )
    if invitation is None:
        raise InvitationError(InvitationErrorCode.UNKNOWN)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvitationError(InvitationErrorCode.USED)
    if invitation.expires_at <= timezone.now():
        raise InvitationError(InvitationErrorCode.EXPIRED)
    return invitation


def _still_pending(invitation: Invitation) -> Invitation:
    fresh = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if fresh.accepted_at is not None or fresh.revoked_at is not None:
        raise InvitationError(InvitationErrorCode.USED)
    if fresh.expires_at <= timezone.now():
        raise InvitationError(InvitationErrorCode.EXPIRED)
    return fresh


@transaction.atomic
def invitation_password_set(*, invitation: Invitation, password: str, password_again: str) -> None:
    """First step of accepting: the password (Django's validators). The account stays inactive."""
    invitation = _still_pending(invitation)
    if password != password_again:
        raise InvitationError(InvitationErrorCode.PASSWORD_MISMATCH)
    try:
        validate_password(password, invitation.user)
    except ValidationError as exc:
        raise InvitationError(InvitationErrorCode.WEAK_PASSWORD, tuple(exc.messages)) from None
    invitation.user.set_password(password)
    invitation.user.save(update_fields=["password"])


@transaction.atomic
def invitation_totp_start(*, invitation: Invitation) -> TOTPDevice:
    """A fresh unconfirmed authenticator for the invitee to scan."""
    invitation = _still_pending(invitation)
    TOTPDevice.objects.filter(user=invitation.user, confirmed=False).delete()
    device: TOTPDevice = TOTPDevice.objects.create(
        user=invitation.user, name="authenticator", confirmed=False
    )
    return device


@transaction.atomic
def invitation_accept(*, invitation: Invitation, device: TOTPDevice, token: str, ip: str) -> User:
    """Second step: the first code from the authenticator. Activates the account; single use."""
    invitation = _still_pending(invitation)
    user = invitation.user
    if not user.has_usable_password():
        raise InvitationError(InvitationErrorCode.PASSWORD_MISSING)
    cleaned = normalize_digits(token).replace(" ", "")
    if not (
        device.user_id == user.pk
        and cleaned.isdigit()
        and len(cleaned) == 6
        and device.verify_token(cleaned)
    ):
        raise InvitationError(InvitationErrorCode.INVALID_CODE)
    now = timezone.now()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    user.is_active = True
    user.save(update_fields=["is_active"])
    invitation.accepted_at = now
    invitation.save(update_fields=["accepted_at"])
    audit_event(
        municipality=invitation.municipality,
        action="invitation.accept",
        actor=AuditActor(user=user, ip=ip),
        obj=user,
        data={"username": user.get_username()},
    )
    return user
