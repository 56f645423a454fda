"""Accepting an invitation: open the e-mailed link, choose a password, enrol the authenticator.

The link's token is moved into the session on the first request and the browser is sent on to
an address without it, so that the token does not linger in history or Referer headers.
"""

from __future__ import annotations

import base64

import segno
from django import forms
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.forms import CodeStepForm
from madoguchi.accounts.invitations import (
    InvitationError,
    InvitationErrorCode,
    invitation_accept,
    invitation_for_token,
    invitation_password_set,
    invitation_totp_start,
)
from madoguchi.accounts.models import Invitation
from madoguchi.core.ratelimit import client_ip

TOKEN_KEY = "madoguchi_invitation_token"  # noqa: S105 - a session key, not a secret
DEVICE_KEY = "madoguchi_invitation_device"


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("パスワード"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": gettext_lazy("パスワードを入力してください。")},
        help_text=gettext_lazy(
            "12文字以上。ユーザー名に似たもの、よく使われるもの、数字だけのものは使えません。"
        ),
    )
    password_again = forms.CharField(
        label=gettext_lazy("パスワード（確認）"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": gettext_lazy("確認のため、もう一度入力してください。")},
    )


def _refused(request: HttpRequest, failure: InvitationError) -> HttpResponse:
    request.session.pop(TOKEN_KEY, None)
    request.session.pop(DEVICE_KEY, None)
    status = 404 if failure.code == InvitationErrorCode.UNKNOWN else 410
    return render(
        request, "accounts/invitation_refused.html", {"message": failure.message}, status=status
    )


def _pending(request: HttpRequest) -> Invitation:
    token = request.session.get(TOKEN_KEY)
    if not isinstance(token, str):
        raise InvitationError(InvitationErrorCode.UNKNOWN)
    return invitation_for_token(token=token)


@never_cache
@require_safe
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation_for_token(token=token)
    except InvitationError as failure:
        return _refused(request, failure)
    if request.user.is_authenticated:
        auth.logout(request)  # someone else's session in this browser must not carry over
    request.session[TOKEN_KEY] = token
    request.session.pop(DEVICE_KEY, None)
    return HttpResponseRedirect(reverse("invitation-password"))


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_password(request: HttpRequest) -> HttpResponse:
    try:
        invitation = _pending(request)
    except InvitationError as failure:
        return _refused(request, failure)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation_password_set(
                invitation=invitation,
                password=form.cleaned_data["password"],
                password_again=form.cleaned_data["password_again"],
            )
        except InvitationError as failure:
            if failure.code in {InvitationErrorCode.USED, InvitationErrorCode.EXPIRED}:
                return _refused(request, failure)
            field = (
                "password_again"
                if failure.code == InvitationErrorCode.PASSWORD_MISMATCH
                else "password"
            )
            for detail in failure.details or (failure.message,):
                form.add_error(field, detail)
        else:
            return HttpResponseRedirect(reverse("invitation-code"))
    return render(
        request,
        "accounts/invitation_password.html",
        {"form": form, "invitation": invitation, "invitee": invitation.user},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_code(request: HttpRequest) -> HttpResponse:
    try:
        invitation = _pending(request)
    except InvitationError as failure:
        return _refused(request, failure)
    if not invitation.user.has_usable_password():
        return HttpResponseRedirect(reverse("invitation-password"))
    device_id = request.session.get(DEVICE_KEY)
    device = (
        TOTPDevice.objects.filter(pk=device_id, user=invitation.user, confirmed=False).first()
        if isinstance(device_id, int)
        else None
    )
    if device is None:
        device = invitation_totp_start(invitation=invitation)
        request.session[DEVICE_KEY] = device.pk
    form = CodeStepForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                invitation=invitation,
                device=device,
                token=form.cleaned_data["token"],
                ip=client_ip(request),
            )
        except InvitationError as failure:
            if failure.code in {InvitationErrorCode.USED, InvitationErrorCode.EXPIRED}:
                return _refused(request, failure)
            error = failure.message
        else:
            request.session.pop(TOKEN_KEY, None)
            request.session.pop(DEVICE_KEY, None)
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            device.refresh_from_db()
            otp_login(request, device)
            if invitation.municipality is not None and not invitation.municipality.is_active:
                messages.info(
                    request,
                    _(
                        "登録が完了しました。この団体はまだサービス開始前のため、職員ページは"
                        "運用者がサービスを開始してから使えます。"
                    ),
                )
                return HttpResponseRedirect(reverse("site-index"))
            return HttpResponseRedirect(_landing(invitation))
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    context = {
        "form": form,
        "error": error,
        "invitee": invitation.user,
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "qr_svg": segno.make(device.config_url, error="m").svg_inline(
            scale=5, omitsize=True, title=_("認証アプリ登録用のQRコード")
        ),
    }
    return render(request, "accounts/invitation_code.html", context)


def _landing(invitation: Invitation) -> str:
    if invitation.municipality is None:
        return reverse("site-index")
    return reverse("console-home", kwargs={"municipality_slug": invitation.municipality.slug})
