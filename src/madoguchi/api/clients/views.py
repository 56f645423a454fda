"""The admin console's pages for API clients: list, create, rotate the secret, revoke, and
the client's webhook subscriptions (deleting one) with its last deliveries.

A new secret is shown once, in the answer to the POST that made it, and never again.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.api.clients.forms import ApiClientCreateForm
from madoguchi.api.clients.models import ApiClient
from madoguchi.api.clients.scopes import Scope
from madoguchi.api.clients.selectors import api_client_get, api_client_list, api_client_secrets
from madoguchi.api.clients.services import (
    ApiClientError,
    api_client_create,
    api_client_revoke,
    api_client_secret_rotate,
)
from madoguchi.api.webhooks.selectors import (
    webhook_deliveries_recent,
    webhook_subscription_get,
    webhook_subscriptions_of,
)
from madoguchi.api.webhooks.services import webhook_subscription_delete
from madoguchi.tenants.models import Municipality, Role

admin_view = staff_view(roles=[Role.ADMIN])


def _is_admin(staff: StaffContext) -> None:
    if not staff.is_admin:
        raise PermissionDenied("municipality-wide admins only")


def _client(municipality: Municipality, pk: int) -> ApiClient:
    client = api_client_get(municipality=municipality, pk=pk)
    if client is None:
        raise Http404("no such client here")
    return client


def _scope_labels(client: ApiClient) -> list[str]:
    labels = dict(Scope.choices)
    return [f"{s}（{labels.get(s, s)}）" for s in client.scopes]


def _secret_page(
    request: HttpRequest, municipality: Municipality, client: ApiClient, secret: str
) -> HttpResponse:
    response = render(
        request,
        "api/client_secret.html",
        {"municipality": municipality, "client": client, "secret": secret},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@admin_view
def client_index(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    _is_admin(staff)
    form = ApiClientCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client, secret = api_client_create(
                municipality=municipality,
                name=form.cleaned_data["name"],
                scopes=list(form.cleaned_data["scopes"]),
                actor=staff.actor(),
            )
        except ApiClientError as failure:
            form.add_error(failure.field or None, failure.message)
        else:
            return _secret_page(request, municipality, client, secret)
    return render(
        request,
        "api/client_index.html",
        {
            "municipality": municipality,
            "form": form,
            "clients": [(c, _scope_labels(c)) for c in api_client_list(municipality=municipality)],
        },
    )


@require_safe
@admin_view
def client_detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int
) -> HttpResponse:
    _is_admin(staff)
    client = _client(municipality, pk)
    return render(
        request,
        "api/client_detail.html",
        {
            "municipality": municipality,
            "client": client,
            "scopes": _scope_labels(client),
            "secrets": api_client_secrets(client=client),
            "subscriptions": webhook_subscriptions_of(client=client),
            "deliveries": webhook_deliveries_recent(client=client),
        },
    )


@require_POST
@admin_view
def client_rotate(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int
) -> HttpResponse:
    _is_admin(staff)
    client = _client(municipality, pk)
    try:
        secret = api_client_secret_rotate(client=client, actor=staff.actor())
    except ApiClientError as failure:
        messages.error(request, failure.message)
        return HttpResponseRedirect(_detail_url(municipality, client))
    return _secret_page(request, municipality, client, secret)


@require_POST
@admin_view
def client_revoke(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int
) -> HttpResponse:
    _is_admin(staff)
    client = api_client_revoke(client=_client(municipality, pk), actor=staff.actor())
    messages.success(request, _("「%(name)s」を無効にしました。") % {"name": client.name})
    return HttpResponseRedirect(_detail_url(municipality, client))


@require_POST
@admin_view
def client_webhook_delete(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    pk: int,
    subscription_id: int,
) -> HttpResponse:
    _is_admin(staff)
    client = _client(municipality, pk)
    subscription = webhook_subscription_get(client=client, pk=subscription_id)
    if subscription is None:
        raise Http404("no such subscription of this client")
    url = subscription.url
    webhook_subscription_delete(subscription=subscription, actor=staff.actor())
    messages.success(request, _("Webhook（%(url)s）の購読をやめました。") % {"url": url})
    return HttpResponseRedirect(_detail_url(municipality, client))


def _detail_url(municipality: Municipality, client: ApiClient) -> str:
    return reverse(
        "api-clients:detail", kwargs={"municipality_slug": municipality.slug, "pk": client.pk}
    )
