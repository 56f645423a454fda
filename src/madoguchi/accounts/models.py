"""User accounts: staff of municipalities (and, later, residents and clinics)."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

_SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


class User(AbstractUser):
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    # Raised to end every session of the user at once (deactivation, second-factor reset):
    # it is part of the hash Django checks on each request, whatever the session store.
    session_generation = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ユーザー")
        verbose_name_plural = _("ユーザー")

    def __str__(self) -> str:
        return self.display_name or self.username

    def _session_hash(self, secret: str | bytes | None = None) -> str:
        # Generation 0 keeps Django's own value, so sessions from before this field stay valid.
        value = (
            self.password
            if not self.session_generation
            else (f"{self.password}:{self.session_generation}")
        )
        return salted_hmac(_SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(fallback_secret)


class Invitation(models.Model):
    """A single-use link inviting someone to set a password and enrol a second factor.

    The account exists from the invitation on (inactive, without a usable password) so that its
    roles can be set before it is accepted. Only a hash of the link's token is stored.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, null=True, related_name="+"
    )
    email = models.EmailField(_("メールアドレス"))
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("招待")
        verbose_name_plural = _("招待")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.pk}"
