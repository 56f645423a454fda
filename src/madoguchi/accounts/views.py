"""Staff sign-in pages: password, then the second factor (enrolment on first use)."""

from __future__ import annotations

import base64
import time
from typing import Any

import segno
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts import services
from madoguchi.accounts.forms import CodeStepForm, PasswordStepForm
from madoguchi.accounts.models import User
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.ratelimit import client_ip
from madoguchi.sso import selectors as sso_selectors
from madoguchi.sso import services as sso_services
from madoguchi.sso.views import end_session_redirect, sso_signed_out_page
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import membership_list_for_user

PENDING_KEY = "madoguchi_signin_pending"
PENDING_SECONDS = 300


def _default_next(municipality: Municipality | None) -> str:
    if municipality is None:
        return reverse("operator:home")
    return reverse("console-home", kwargs={"municipality_slug": municipality.slug})


def _login_url(municipality: Municipality | None) -> str:
    if municipality is None:
        return reverse("platform-login")
    return reverse("accounts:login", kwargs={"municipality_slug": municipality.slug})


def _code_url(municipality: Municipality | None) -> str:
    if municipality is None:
        return reverse("platform-code")
    return reverse("accounts:code", kwargs={"municipality_slug": municipality.slug})


def _safe_next(request: HttpRequest, municipality: Municipality | None) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return _default_next(municipality)


def _pending_user(
    request: HttpRequest, municipality: Municipality | None
) -> tuple[User, str, int | None]:
    """Who passed the password step here, where to go next and the device being enrolled.

    Raises LookupError when there is no such step in this session or it is too old.
    """
    pending = request.session.get(PENDING_KEY)
    municipality_id = municipality.pk if municipality else None
    if (
        not isinstance(pending, dict)
        or pending.get("municipality") != municipality_id
        or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS
    ):
        raise LookupError
    user_id = pending.get("user")
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        raise LookupError
    enrol = pending.get("enrol_device")
    return (
        user,
        str(pending.get("next") or _default_next(municipality)),
        enrol if isinstance(enrol, int) else None,
    )


def _password_step(request: HttpRequest, municipality: Municipality | None) -> HttpResponse:
    form = PasswordStepForm(request.POST or None)
    sso = sso_selectors.sso_login_option(municipality=municipality)
    error = ""
    status = 200
    retry_after = 0
    if request.method == "POST" and municipality and sso and sso.password_disabled:
        # Refused before the password is looked at: this municipality's staff sign in through
        # its provider; operators use the platform sign-in (break-glass).
        sso_services.sso_password_refused(
            municipality=municipality,
            username=request.POST.get("username", ""),
            ip=client_ip(request),
        )
        error = _("この自治体の職員は、パスワードではサインインできません。")
        status = 403
    elif request.method == "POST" and form.is_valid():
        try:
            user = services.staff_password_check(
                municipality=municipality,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except services.SignInError as failure:
            error = failure.message
            status = 429 if failure.code == services.SignInErrorCode.RATE_LIMITED else 200
            retry_after = failure.retry_after
        else:
            request.session.cycle_key()
            enrol = None
            if services.staff_totp_device(user=user) is None:
                enrol = services.staff_totp_enrol_start(user=user).pk
            request.session[PENDING_KEY] = {
                "user": user.pk,
                "municipality": municipality.pk if municipality else None,
                "at": time.time(),
                "next": _safe_next(request, municipality),
                "enrol_device": enrol,
            }
            return HttpResponseRedirect(_code_url(municipality))
    response = render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "error": error,
            "municipality": municipality,
            "next": _safe_next(request, municipality),
            "sso": sso,
        },
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(retry_after)
    return response


def _code_step(request: HttpRequest, municipality: Municipality | None) -> HttpResponse:
    try:
        user, next_url, enrol_device = _pending_user(request, municipality)
    except LookupError:
        messages.warning(
            request, _("時間が経ったため、もう一度ユーザー名とパスワードを入力してください。")
        )
        return HttpResponseRedirect(_login_url(municipality))

    device: TOTPDevice | None = services.staff_totp_device(user=user)
    enrolling = device is None
    if device is None:
        device = TOTPDevice.objects.filter(pk=enrol_device, user=user, confirmed=False).first()
        if device is None:  # replaced by a later password step elsewhere
            request.session.pop(PENDING_KEY, None)
            messages.warning(
                request, _("もう一度ユーザー名とパスワードを入力して、登録をやり直してください。")
            )
            return HttpResponseRedirect(_login_url(municipality))
    form = CodeStepForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        verify = services.staff_totp_enrol_confirm if enrolling else services.staff_totp_verify
        try:
            verify(
                municipality=municipality,
                user=user,
                device=device,
                token=form.cleaned_data["token"],
                ip=client_ip(request),
            )
        except services.SignInError as failure:
            if failure.code == services.SignInErrorCode.RATE_LIMITED:
                request.session.pop(PENDING_KEY, None)
                messages.error(request, failure.message)
                return HttpResponseRedirect(_login_url(municipality))
            error = failure.message
        else:
            request.session.pop(PENDING_KEY, None)
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            otp_login(request, device)
            return HttpResponseRedirect(next_url)

    context: dict[str, Any] = {
        "form": form,
        "error": error,
        "municipality": municipality,
        "enrolling": enrolling,
    }
    if enrolling:
        secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
        context["secret_groups"] = [secret[i : i + 4] for i in range(0, len(secret), 4)]
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(
            scale=5, omitsize=True, title=_("認証アプリ登録用のQRコード")
        )
    return render(request, "accounts/code.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def login_view(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return _password_step(request, municipality)


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def code_view(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return _code_step(request, municipality)


@never_cache
@require_http_methods(["GET", "POST"])
def platform_login_view(request: HttpRequest) -> HttpResponse:
    return _password_step(request, None)


@never_cache
@require_http_methods(["GET", "POST"])
def platform_code_view(request: HttpRequest) -> HttpResponse:
    return _code_step(request, None)


@require_POST
@municipality_view
def logout_view(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    if isinstance(request.user, User) and membership_list_for_user(
        user=request.user, municipality=municipality
    ):
        # Only members leave a trace in this municipality's log.
        audit_event(
            municipality=municipality,
            action="auth.logout",
            actor=AuditActor(user=request.user, ip=client_ip(request)),
            obj=request.user,
        )
    # Read before the session ends: a single sign-on session also ends at the provider.
    provider_logout = end_session_redirect(request, municipality)
    auth.logout(request)
    if provider_logout:
        return sso_signed_out_page(request, municipality, provider_logout)
    messages.info(request, _("サインアウトしました。"))
    return HttpResponseRedirect(_login_url(municipality))
