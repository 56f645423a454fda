"""Single sign-on: saving a municipality's provider settings and signing staff in through it.

A sign-in resolves the provider's account (issuer + subject) to a staff user: a known
identity, or on first sign-in an invited user (a member of the municipality with the same
verified e-mail address), or, in just-in-time mode, a new account. The roles the mapping
gives for the token's claims then replace the memberships earlier sign-ins granted (marked by
:class:`SsoMembership`); memberships an admin granted by hand are left alone.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.sso.errors import (
    SsoError,
    SsoErrorCode,
    SsoSettingsError,
    SsoSettingsErrorCode,
)
from madoguchi.sso.models import (
    SignUpMode,
    SsoConfig,
    SsoIdentity,
    SsoMembership,
    SsoRoleMapping,
)
from madoguchi.sso.oidc import issuer_is_acceptable
from madoguchi.tenants.models import Department, Membership, Municipality, Role
from madoguchi.tenants.services import membership_grant

__all__ = [
    "sso_config_save",
    "sso_failure_record",
    "sso_mapping_add",
    "sso_mapping_delete",
    "sso_password_refused",
    "sso_sign_in",
    "sso_sign_out_record",
]

ROLE_RANK = {Role.VIEWER: 1, Role.CLERK: 2, Role.SUPERVISOR: 3, Role.ADMIN: 4}


@transaction.atomic
def sso_config_save(
    *,
    municipality: Municipality,
    actor: AuditActor,
    actor_signed_in_with_sso: bool,
    enabled: bool,
    label: str,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    scopes: str,
    mode: SignUpMode,
    require_sso: bool,
) -> SsoConfig:
    """Create or change the municipality's provider settings.

    ``client_secret`` of None keeps the stored secret. Requiring SSO is allowed only from a
    session that itself signed in through the provider (or an operator's), so that an admin
    cannot lock the municipality's staff out with settings never tried.
    """
    issuer = issuer.strip()
    if not issuer_is_acceptable(issuer):
        raise SsoSettingsError(SsoSettingsErrorCode.INSECURE_ISSUER)
    config = SsoConfig.objects.select_for_update().filter(municipality=municipality).first()
    turning_on_requirement = require_sso and not (config is not None and config.require_sso)
    if require_sso and not enabled:
        raise SsoSettingsError(SsoSettingsErrorCode.NOT_ENABLED)
    if turning_on_requirement and not actor_signed_in_with_sso:
        raise SsoSettingsError(SsoSettingsErrorCode.REQUIRE_UNTESTED)
    created = config is None
    if config is None:
        config = SsoConfig(municipality=municipality)
    config.enabled = enabled
    config.label = label.strip()
    config.issuer = issuer
    config.client_id = client_id.strip()
    if client_secret is not None:
        config.client_secret = client_secret.strip()
    config.scopes = " ".join(scopes.split()) or "openid"
    config.mode = mode
    config.require_sso = require_sso
    config.save()
    audit_event(
        municipality=municipality,
        action="sso.config.save",
        actor=actor,
        obj=config,
        data={
            "created": created,
            "enabled": enabled,
            "issuer": issuer,
            "client_id": config.client_id,
            "secret_changed": client_secret is not None,
            "scopes": config.scopes,
            "mode": str(mode),
            "require_sso": require_sso,
        },
    )
    return config


@transaction.atomic
def sso_mapping_add(
    *,
    municipality: Municipality,
    actor: AuditActor,
    claim: str,
    value: str,
    department: Department | None,
    role: Role,
) -> SsoRoleMapping:
    """Map a claim value (e.g. a group's object id) to a role in a department or everywhere."""
    config = SsoConfig.objects.filter(municipality=municipality).first()
    if config is None:
        raise SsoError(SsoErrorCode.NOT_CONFIGURED)
    if department is not None and department.municipality_id != municipality.pk:
        raise SsoSettingsError(SsoSettingsErrorCode.FOREIGN_DEPARTMENT)
    claim, value = claim.strip() or "groups", value.strip()
    duplicate = SsoRoleMapping.objects.filter(
        config=config, claim=claim, value=value, department=department
    ).exists()
    if duplicate:
        raise SsoSettingsError(SsoSettingsErrorCode.DUPLICATE_MAPPING)
    mapping = SsoRoleMapping.objects.create(
        config=config, claim=claim, value=value, department=department, role=role
    )
    audit_event(
        municipality=municipality,
        action="sso.mapping.add",
        actor=actor,
        obj=mapping,
        data={
            "claim": claim,
            "value": value,
            "department": department.code if department else None,
            "role": str(role),
        },
    )
    return mapping


@transaction.atomic
def sso_mapping_delete(*, municipality: Municipality, actor: AuditActor, mapping_id: int) -> None:
    """Remove a mapping; the roles it gave go at each user's next sign-in."""
    mapping = (
        SsoRoleMapping.objects.select_related("department")
        .filter(pk=mapping_id, config__municipality=municipality)
        .first()
    )
    if mapping is None:
        raise SsoSettingsError(SsoSettingsErrorCode.UNKNOWN_MAPPING)
    data = {
        "claim": mapping.claim,
        "value": mapping.value,
        "department": mapping.department.code if mapping.department else None,
        "role": mapping.role,
    }
    mapping_pk = mapping.pk
    mapping.delete()
    audit_event(
        municipality=municipality,
        action="sso.mapping.delete",
        actor=actor,
        object_type="sso.ssorolemapping",
        object_id=str(mapping_pk),
        data=data,
    )


def _claim_values(claims: dict[str, Any], name: str) -> set[str]:
    raw = claims.get(name)
    if isinstance(raw, str):
        return {raw}
    if isinstance(raw, list):
        return {str(item) for item in raw if isinstance(item, str | int)}
    return set()


def _desired_roles(config: SsoConfig, claims: dict[str, Any]) -> dict[int | None, Role]:
    """Department id (None: the whole municipality) -> the highest role the claims give."""
    desired: dict[int | None, Role] = {}
    for mapping in config.mappings.all():
        if mapping.value in _claim_values(claims, mapping.claim):
            role = Role(mapping.role)
            current = desired.get(mapping.department_id)
            if current is None or ROLE_RANK[role] > ROLE_RANK[current]:
                desired[mapping.department_id] = role
    return desired


def _verified_email(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        return ""
    return email.strip()[:254]


def _invited_user(municipality: Municipality, issuer: str, email: str) -> User | None:
    """The one member of the municipality with this e-mail address and no account here yet.

    A member whose account was linked under an earlier issuer (the municipality moved to
    another provider or tenant) counts as not linked yet.
    """
    if not email:
        return None
    linked = SsoIdentity.objects.filter(municipality=municipality, issuer=issuer).values("user_id")
    candidates = list(
        User.objects.filter(
            email__iexact=email, memberships__municipality=municipality, is_active=True
        )
        .exclude(pk__in=linked)
        .distinct()[:2]
    )
    return candidates[0] if len(candidates) == 1 else None


def _new_user(municipality: Municipality, claims: dict[str, Any], email: str) -> User:
    subject_hash = hashlib.sha256(str(claims["sub"]).encode()).hexdigest()[:16]
    username = email if email and not User.objects.filter(username=email).exists() else ""
    username = username or f"sso-{municipality.code}-{subject_hash}"
    name = claims.get("name")
    user = User(
        username=username[:150],
        email=email,
        display_name=name[:100] if isinstance(name, str) else "",
        is_staff=False,
    )
    user.set_unusable_password()
    user.save()
    return user


def _memberships_sync(
    *,
    municipality: Municipality,
    user: User,
    desired: dict[int | None, Role],
    actor: AuditActor,
) -> dict[str, list[str]]:
    """Make the provider-granted memberships exactly ``desired``; returns what changed."""
    changes: dict[str, list[str]] = {"granted": [], "revoked": [], "kept_manual": []}
    managed = {
        marker.membership_id
        for marker in SsoMembership.objects.filter(user=user, municipality=municipality)
    }
    existing = {
        m.department_id: m
        for m in Membership.objects.select_for_update(of=("self",))
        .filter(user=user, municipality=municipality)
        .select_related("department")
    }
    departments = {
        d.pk: d
        for d in Department.objects.filter(
            municipality=municipality, pk__in=[k for k in desired if k is not None]
        )
    }

    def label(department_id: int | None) -> str:
        if department_id is None:
            return "*"
        department = departments.get(department_id) or existing[department_id].department
        return department.code if department is not None else str(department_id)

    for department_id, membership in existing.items():
        if membership.pk in managed and department_id not in desired:
            changes["revoked"].append(f"{label(department_id)}:{membership.role}")
            membership.delete()
            audit_event(
                municipality=municipality,
                action="membership.revoke",
                actor=actor,
                object_type="tenants.membership",
                object_id=str(membership.pk),
                data={
                    "user": user.get_username(),
                    "role": membership.role,
                    "department": None if department_id is None else label(department_id),
                    "source": "sso",
                },
            )
    for department_id, role in desired.items():
        current = existing.get(department_id)
        if current is not None and current.pk not in managed:
            changes["kept_manual"].append(f"{label(department_id)}:{current.role}")
            continue
        if current is not None and current.role == role:
            continue
        department = None if department_id is None else departments[department_id]
        membership = membership_grant(
            municipality=municipality, user=user, role=role, department=department, actor=actor
        )
        SsoMembership.objects.get_or_create(
            membership=membership, defaults={"user": user, "municipality": municipality}
        )
        changes["granted"].append(f"{label(department_id)}:{role}")
    return changes


def sso_sign_in(
    *, municipality: Municipality, config: SsoConfig, claims: dict[str, Any], ip: str
) -> SsoIdentity:
    """Resolve validated ID token claims to a staff user and bring their roles up to date.

    Returns the provider account (the OTP device of the new session). Raises SsoError when
    the account is unknown in invite-only mode, disabled, or left without any role here; the
    roles are updated (and removed ones revoked) before the last of these is raised.
    """
    subject = str(claims["sub"])
    actor = AuditActor(ip=ip, label=f"sso:{subject}"[:150])
    desired = _desired_roles(config, claims)
    email = _verified_email(claims)
    with transaction.atomic():
        identity = (
            SsoIdentity.objects.select_related("user")
            .filter(municipality=municipality, issuer=config.issuer, subject=subject)
            .first()
        )
        if identity is None:
            user = _invited_user(municipality, config.issuer, email)
            how = "invited"
            if user is None:
                if config.mode != SignUpMode.JUST_IN_TIME:
                    raise SsoError(SsoErrorCode.NOT_INVITED, f"no invited member for {subject}")
                if not desired:
                    raise SsoError(SsoErrorCode.NO_ROLE, "no mapped role for a new account")
                user = _new_user(municipality, claims, email)
                how = "created"
            try:
                with transaction.atomic():
                    identity, _created = SsoIdentity.objects.update_or_create(
                        user=user,
                        municipality=municipality,
                        defaults={
                            "issuer": config.issuer,
                            "subject": subject,
                            "name": "sso",
                            "confirmed": True,
                        },
                    )
            except IntegrityError:  # the same account finished a parallel first sign-in
                raise SsoError(SsoErrorCode.STATE_MISMATCH, "parallel first sign-in") from None
            audit_event(
                municipality=municipality,
                action="auth.sso_account_linked",
                actor=AuditActor(user=user, ip=ip),
                obj=user,
                data={"how": how, "issuer": config.issuer, "subject": subject},
            )
        user = identity.user
        if not user.is_active:
            raise SsoError(SsoErrorCode.ACCOUNT_DISABLED, f"user {user.pk} is inactive")
        actor = AuditActor(user=user, ip=ip)
        changes = _memberships_sync(
            municipality=municipality, user=user, desired=desired, actor=actor
        )
        identity.last_login_at = timezone.now()
        identity.save(update_fields=["last_login_at"])
    if not Membership.objects.filter(user=user, municipality=municipality).exists():
        raise SsoError(SsoErrorCode.NO_ROLE, f"user {user.pk} has no role here")
    audit_event(
        municipality=municipality,
        action="auth.sso_login",
        actor=actor,
        obj=user,
        data={"issuer": config.issuer, **changes},
    )
    return identity


def sso_failure_record(
    *, municipality: Municipality, error: SsoError, ip: str, subject: str = ""
) -> None:
    """Write a refused or failed single sign-on to the municipality's audit log."""
    audit_event(
        municipality=municipality,
        action="auth.sso_failed",
        actor=AuditActor(ip=ip, label=f"sso:{subject}"[:150] if subject else "sso"),
        data={"reason": str(error.code), "detail": error.detail[:300]},
    )


def sso_password_refused(*, municipality: Municipality, username: str, ip: str) -> None:
    """Record a password sign-in refused because the municipality requires single sign-on."""
    audit_event(
        municipality=municipality,
        action="auth.login_refused_sso_required",
        actor=AuditActor(ip=ip, label=username[:150]),
        data={"username": username[:150]},
    )


def sso_sign_out_record(
    *, municipality: Municipality, user: User, ip: str, ended_at_idp: bool
) -> None:
    """Record that a session signed in through the provider was ended here."""
    audit_event(
        municipality=municipality,
        action="auth.sso_logout",
        actor=AuditActor(user=user, ip=ip),
        obj=user,
        data={"ended_at_provider": ended_at_idp},
    )
