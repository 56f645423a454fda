"""Staff single sign-on pages: start, callback, the end of the provider's session, settings.

Every failure is shown as a Japanese page with a way back to the sign-in page and is written
to the municipality's audit log; none is a 500.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from madoguchi.accounts.models import User
from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.core.ratelimit import client_ip, ratelimit_hit
from madoguchi.sso import oidc, selectors, services
from madoguchi.sso.errors import SsoError, SsoErrorCode, SsoSettingsError
from madoguchi.sso.forms import SsoConfigForm, SsoMappingForm
from madoguchi.sso.models import SignUpMode, SsoConfig
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality, Role
from madoguchi.tenants.selectors import department_list

PENDING_KEY = "madoguchi_sso_pending"
SIGNED_IN_KEY = "madoguchi_sso"
PENDING_SECONDS = 600
PENDING_MAX = 5  # sign-ins started in other tabs and not finished

_STATUS = {
    SsoErrorCode.NOT_CONFIGURED: 404,
    SsoErrorCode.PROVIDER_UNAVAILABLE: 502,
    SsoErrorCode.PROVIDER_MISCONFIGURED: 502,
    SsoErrorCode.NOT_INVITED: 403,
    SsoErrorCode.NO_ROLE: 403,
    SsoErrorCode.ACCOUNT_DISABLED: 403,
    SsoErrorCode.RATE_LIMITED: 429,
}


def _login_url(municipality: Municipality) -> str:
    return reverse("accounts:login", kwargs={"municipality_slug": municipality.slug})


def _callback_url(request: HttpRequest, municipality: Municipality) -> str:
    path = reverse("sso:callback", kwargs={"municipality_slug": municipality.slug})
    return request.build_absolute_uri(path)


def _settings_url(municipality: Municipality) -> str:
    return reverse("sso:settings", kwargs={"municipality_slug": municipality.slug})


def _safe_next(request: HttpRequest, municipality: Municipality) -> str:
    candidate = request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("console-home", kwargs={"municipality_slug": municipality.slug})


def _failure(
    request: HttpRequest, municipality: Municipality, error: SsoError, *, subject: str = ""
) -> HttpResponse:
    services.sso_failure_record(
        municipality=municipality, error=error, ip=client_ip(request), subject=subject
    )
    return render(
        request,
        "sso/error.html",
        {
            "municipality": municipality,
            "message": error.message,
            "code": str(error.code),
            "login_url": _login_url(municipality),
        },
        status=_STATUS.get(error.code, 400),
    )


@never_cache
@require_GET
@municipality_view
def sso_start(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge.

    A link, not a form: browsers apply the page's CSP ``form-action 'self'`` to the redirects
    that follow a form submission, which would stop the redirect to the provider.
    """
    config = selectors.sso_config_enabled(municipality=municipality)
    if config is None:
        return _failure(request, municipality, SsoError(SsoErrorCode.NOT_CONFIGURED))
    # Each start may fetch the provider's discovery document: limited like password sign-ins.
    limited = ratelimit_hit(
        f"sso:{client_ip(request)}", limit=settings.STAFF_LOGIN_RATE_PER_IP, window_seconds=60
    )
    if not limited.allowed:
        response = _failure(request, municipality, SsoError(SsoErrorCode.RATE_LIMITED))
        response["Retry-After"] = str(limited.retry_after)
        return response
    redirect_uri = _callback_url(request, municipality)
    try:
        metadata = oidc.provider_metadata(config.issuer)
        flow = oidc.authorization_request(
            metadata=metadata,
            client_id=config.client_id,
            scopes=config.scope_list,
            redirect_uri=redirect_uri,
        )
    except SsoError as error:
        return _failure(request, municipality, error)
    pending = request.session.get(PENDING_KEY)
    pending = pending if isinstance(pending, dict) else {}
    now = time.time()
    pending = {
        state: entry
        for state, entry in pending.items()
        if isinstance(entry, dict) and now - float(entry.get("at", 0)) < PENDING_SECONDS
    }
    while len(pending) >= PENDING_MAX:
        pending.pop(min(pending, key=lambda s: float(pending[s].get("at", 0))))
    pending[flow.state] = {
        "municipality": municipality.pk,
        "nonce": flow.nonce,
        "verifier": flow.code_verifier,
        "redirect_uri": redirect_uri,
        "next": _safe_next(request, municipality),
        "at": now,
    }
    request.session[PENDING_KEY] = pending
    return HttpResponseRedirect(flow.url)


def _pop_pending(request: HttpRequest, municipality: Municipality, state: str) -> dict[str, Any]:
    pending = request.session.get(PENDING_KEY)
    entry = pending.pop(state, None) if isinstance(pending, dict) and state else None
    if isinstance(pending, dict):
        request.session[PENDING_KEY] = pending
    if (
        not isinstance(entry, dict)
        or entry.get("municipality") != municipality.pk
        or time.time() - float(entry.get("at", 0)) > PENDING_SECONDS
    ):
        raise SsoError(SsoErrorCode.STATE_MISMATCH, "no sign-in started with this state here")
    return entry


@never_cache
@require_GET
@municipality_view
def sso_callback(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    """The provider's answer: check it, sign the staff member in and update their roles."""
    config = selectors.sso_config_enabled(municipality=municipality)
    if config is None:
        return _failure(request, municipality, SsoError(SsoErrorCode.NOT_CONFIGURED))
    try:
        entry = _pop_pending(request, municipality, request.GET.get("state", ""))
    except SsoError as error:
        return _failure(request, municipality, error)
    if request.GET.get("error"):
        detail = f"{request.GET.get('error', '')[:60]}: {request.GET.get('error_description', '')}"
        return _failure(
            request, municipality, SsoError(SsoErrorCode.PROVIDER_REFUSED, detail[:300])
        )
    code = request.GET.get("code", "")
    if not code:
        return _failure(request, municipality, SsoError(SsoErrorCode.TOKEN_REFUSED, "no code"))
    subject = ""
    try:
        metadata = oidc.provider_metadata(config.issuer)
        token = oidc.token_exchange(
            metadata=metadata,
            client_id=config.client_id,
            client_secret=config.client_secret or "",
            code=code,
            code_verifier=str(entry["verifier"]),
            redirect_uri=str(entry["redirect_uri"]),
        )
        claims = oidc.id_token_validate(
            id_token=token["id_token"],
            metadata=metadata,
            client_id=config.client_id,
            nonce=str(entry["nonce"]),
        )
        subject = str(claims["sub"])
        identity = services.sso_sign_in(
            municipality=municipality, config=config, claims=claims, ip=client_ip(request)
        )
    except SsoError as error:
        return _failure(request, municipality, error, subject=subject)
    user = identity.user
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    otp_login(request, identity)
    request.session[SIGNED_IN_KEY] = {
        "municipality": municipality.pk,
        "id_token": token["id_token"],
    }
    return HttpResponseRedirect(str(entry["next"]))


def end_session_redirect(request: HttpRequest, municipality: Municipality) -> str:
    """Where sign-out should send the browser to end the provider's session too ("" if not).

    Call it before the local session ends: it reads the ID token kept at sign-in.
    """
    signed_in = request.session.get(SIGNED_IN_KEY)
    user = request.user
    if (
        not isinstance(signed_in, dict)
        or signed_in.get("municipality") != municipality.pk
        or not isinstance(user, User)
    ):
        return ""
    config = selectors.sso_config_get(municipality=municipality)
    url = ""
    if config is not None:
        try:
            metadata = oidc.provider_metadata(config.issuer)
        except SsoError:
            url = ""  # the local session still ends; the provider's stays
        else:
            url = oidc.end_session_url(
                metadata=metadata,
                id_token=str(signed_in.get("id_token", "")),
                post_logout_redirect_uri=request.build_absolute_uri(_login_url(municipality)),
            )
    services.sso_sign_out_record(
        municipality=municipality, user=user, ip=client_ip(request), ended_at_idp=bool(url)
    )
    return url


def sso_signed_out_page(
    request: HttpRequest, municipality: Municipality, end_session_url: str
) -> HttpResponse:
    """After the local sign-out: a page that moves on to the provider's sign-out.

    Not a redirect: the sign-out is a form submission, and browsers check the redirects that
    follow one against the page's CSP ``form-action 'self'``. A refresh is a new navigation.
    """
    return render(
        request,
        "sso/signed_out.html",
        {
            "municipality": municipality,
            "end_session_url": end_session_url,
            "login_url": _login_url(municipality),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def sso_settings(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    """The municipality's provider settings and role mappings (admins only)."""
    config = selectors.sso_config_get(municipality=municipality)
    form = SsoConfigForm(request.POST or None, initial=_initial(config))
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.sso_config_save(
                municipality=municipality,
                actor=staff.actor(),
                actor_signed_in_with_sso=staff.user.is_superuser
                or selectors.sso_signed_in_here(user=staff.user, municipality=municipality),
                enabled=data["enabled"],
                label=data["label"],
                issuer=data["issuer"],
                client_id=data["client_id"],
                client_secret=data["client_secret"] or None,
                scopes=data["scopes"],
                mode=SignUpMode(data["mode"]),
                require_sso=data["require_sso"],
            )
        except SsoSettingsError as exc:
            error = exc.message
        else:
            messages.success(request, _("シングルサインオンの設定を保存しました。"))
            return HttpResponseRedirect(_settings_url(municipality))
    return _settings_page(
        request,
        municipality,
        config_form=form,
        error=error,
        status=400 if request.method == "POST" else 200,
    )


def _settings_page(
    request: HttpRequest,
    municipality: Municipality,
    *,
    config_form: SsoConfigForm | None = None,
    mapping_form: SsoMappingForm | None = None,
    error: str = "",
    mapping_error: str = "",
    status: int = 200,
) -> HttpResponse:
    config = selectors.sso_config_get(municipality=municipality)
    departments = list(department_list(municipality=municipality))
    return render(
        request,
        "sso/settings.html",
        {
            "municipality": municipality,
            "config": config,
            "form": config_form or SsoConfigForm(initial=_initial(config)),
            "mapping_form": mapping_form or SsoMappingForm(departments=departments),
            "mappings": list(selectors.sso_mapping_list(municipality=municipality)),
            "redirect_uri": _callback_url(request, municipality),
            "logout_uri": request.build_absolute_uri(_login_url(municipality)),
            "error": error,
            "mapping_error": mapping_error,
        },
        status=status,
    )


def _initial(config: SsoConfig | None) -> dict[str, Any]:
    if config is None:
        return {}
    return {
        "enabled": config.enabled,
        "label": config.label,
        "issuer": config.issuer,
        "client_id": config.client_id,
        "scopes": config.scopes,
        "mode": config.mode,
        "require_sso": config.require_sso,
    }


@require_POST
@staff_view(roles=[Role.ADMIN])
def sso_mapping_add(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    departments = list(department_list(municipality=municipality))
    form = SsoMappingForm(request.POST, departments=departments)
    mapping_error = ""
    if form.is_valid():
        try:
            services.sso_mapping_add(
                municipality=municipality,
                actor=staff.actor(),
                claim=form.cleaned_data["claim"],
                value=form.cleaned_data["value"],
                department=form.cleaned_department(),
                role=Role(form.cleaned_data["role"]),
            )
        except SsoSettingsError as exc:
            mapping_error = exc.message
        except SsoError:
            mapping_error = _("先に発行者URLとクライアントIDを保存してください。")
        else:
            messages.success(request, _("役割の対応を追加しました。"))
            return HttpResponseRedirect(_settings_url(municipality))
    return _settings_page(
        request, municipality, mapping_form=form, mapping_error=mapping_error, status=400
    )


@require_POST
@staff_view(roles=[Role.ADMIN])
def sso_mapping_delete(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, mapping_id: int
) -> HttpResponse:
    try:
        services.sso_mapping_delete(
            municipality=municipality, actor=staff.actor(), mapping_id=mapping_id
        )
    except SsoSettingsError as exc:
        return _settings_page(request, municipality, mapping_error=exc.message, status=404)
    messages.success(request, _("役割の対応を削除しました。次のサインインから反映されます。"))
    return HttpResponseRedirect(_settings_url(municipality))
