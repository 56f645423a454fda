"""Resident pages: subscribe by e-mail, confirm, see and change one's choices, unsubscribe."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip, client_key, ratelimit_hit
from madoguchi.messaging import selectors, services
from madoguchi.messaging.errors import MessagingError
from madoguchi.messaging.forms import ChoicesForm, SubscribeForm
from madoguchi.messaging.models import Subscriber
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality


def _actor(request: HttpRequest) -> AuditActor:
    return AuditActor(label="resident", ip=client_ip(request))


def _url(name: str, municipality: Municipality, **kwargs: object) -> str:
    return reverse(f"messaging:{name}", kwargs={"municipality_slug": municipality.slug, **kwargs})


@require_http_methods(["GET", "HEAD", "POST"])
@municipality_view
def subscribe(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    """The web form: an e-mail address and its choices; a confirmation link is mailed."""
    language = (get_language() or "ja")[:2]
    form = SubscribeForm(
        request.POST or None,
        municipality=municipality,
        initial={"language": language if language in {"ja", "en"} else "ja"},
    )
    error = ""
    limited = None
    if request.method == "POST":
        limited = ratelimit_hit(
            client_key(request, "messaging:subscribe"),
            limit=settings.MESSAGING_SUBSCRIBE_RATE_PER_CLIENT,
            window_seconds=3600,
        )
    if limited is not None and not limited.allowed:
        # What was entered stays in the form; nothing is stored and no mail goes out.
        error = _(
            "短い時間に登録の操作が続いたため、受け付けを一時的に止めています。"
            "%(minutes)s分ほど待ってから、もう一度「確認メールを送る」を押してください。"
        ) % {"minutes": max(1, (limited.retry_after + 59) // 60)}
    elif request.method == "POST" and form.is_valid():
        try:
            services.subscription_request(
                municipality=municipality,
                email=form.cleaned_data["email"],
                topic_codes=form.cleaned_data["topics"],
                area_code=form.cleaned_data["area"],
                language=form.cleaned_data["language"],
                actor=_actor(request),
            )
        except MessagingError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(_url("subscribe-sent", municipality))
    has_topics = selectors.topic_list(municipality=municipality, active_only=True).exists()
    response = render(
        request,
        "messaging/subscribe.html",
        {"municipality": municipality, "form": form, "error": error, "has_topics": has_topics},
        status=400 if request.method == "POST" else 200,
    )
    if limited is not None and not limited.allowed:
        response.status_code = 429
        response["Retry-After"] = str(limited.retry_after)
    return response


@require_http_methods(["GET", "HEAD"])
@municipality_view
def subscribe_sent(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return render(request, "messaging/subscribe_sent.html", {"municipality": municipality})


def _invalid(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return render(
        request, "messaging/link_invalid.html", {"municipality": municipality}, status=404
    )


@require_http_methods(["GET", "HEAD", "POST"])
@municipality_view
def confirm(request: HttpRequest, municipality: Municipality, token: str) -> HttpResponse:
    """GET shows one button (mail scanners open links); POST completes the registration."""
    subscriber = selectors.subscriber_by_token(municipality=municipality, token=token)
    if subscriber is None:
        return _invalid(request, municipality)
    if request.method == "POST":
        try:
            services.subscription_confirm(
                municipality=municipality, token=token, actor=_actor(request)
            )
        except MessagingError:
            return _invalid(request, municipality)
        return HttpResponseRedirect(_url("manage", municipality, token=token) + "?confirmed=1")
    return render(request, "messaging/confirm.html", {"municipality": municipality})


def _choices_initial(subscriber: Subscriber) -> dict[str, object]:
    return {
        "topics": [t.code for t in subscriber.topics.all()],
        "area": subscriber.area.code if subscriber.area else "",
        "language": subscriber.language,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@municipality_view
def manage(request: HttpRequest, municipality: Municipality, token: str) -> HttpResponse:
    """The resident's own choices: see, change, or stop them."""
    subscriber = selectors.subscriber_by_token(municipality=municipality, token=token)
    if subscriber is None:
        return _invalid(request, municipality)
    form = ChoicesForm(
        request.POST or None, municipality=municipality, initial=_choices_initial(subscriber)
    )
    error = ""
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            subscriber = services.subscription_update(
                municipality=municipality,
                token=token,
                topic_codes=form.cleaned_data["topics"],
                area_code=form.cleaned_data["area"],
                language=form.cleaned_data["language"],
                actor=_actor(request),
            )
        except MessagingError as exc:
            error = exc.message
        else:
            saved = True
    return render(
        request,
        "messaging/manage.html",
        {
            "municipality": municipality,
            "form": form,
            "error": error,
            "saved": saved,
            # Only on arrival from the confirmation: saving there is a change, not a new start.
            "confirmed": request.method != "POST" and request.GET.get("confirmed") == "1",
            "subscriber": subscriber,
            "unsubscribe_url": _url("unsubscribe", municipality, token=token),
        },
        status=400 if request.method == "POST" and not saved else 200,
    )


# Mail programs unsubscribe with a POST of "List-Unsubscribe=One-Click" (RFC 8058) and no
# CSRF token; the token in the URL is the authority, and stopping messages harms nobody.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@municipality_view
def unsubscribe(request: HttpRequest, municipality: Municipality, token: str) -> HttpResponse:
    """One step: one button on the page (or the mail program's one-click POST)."""
    subscriber = selectors.subscriber_by_token(municipality=municipality, token=token)
    if subscriber is None:
        return _invalid(request, municipality)
    done = False
    if request.method == "POST":
        services.subscription_unsubscribe(
            municipality=municipality, token=token, actor=_actor(request)
        )
        done = True
    return render(
        request,
        "messaging/unsubscribe.html",
        {
            "municipality": municipality,
            "done": done or subscriber.unsubscribed_at is not None,
            "manage_url": _url("manage", municipality, token=token),
        },
    )
