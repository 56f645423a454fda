"""Resolving the municipality of a request from its URL prefix ``/<slug>/``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import municipality_get_active, municipality_slug_for_alias

P = ParamSpec("P")
MunicipalityView = Callable[Concatenate[HttpRequest, Municipality, P], HttpResponseBase]


def municipality_view(view: MunicipalityView[P]) -> Callable[..., HttpResponseBase]:
    """Resolve ``municipality_slug`` once and pass the Municipality on as ``municipality``.

    An unknown or inactive slug gets the Japanese 404 page naming it; a URL name the body used
    before redirects (302, since a name may be taken back) to the same page under its current
    one. The municipality is also put on ``request.municipality`` for templates; code below the
    view takes it explicitly.
    """

    @wraps(view)
    def wrapped(
        request: HttpRequest, municipality_slug: str, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        municipality = municipality_get_active(slug=municipality_slug)
        if municipality is None:
            current = municipality_slug_for_alias(slug=municipality_slug)
            if current is not None and request.method in {"GET", "HEAD"}:
                prefix = f"/{municipality_slug}/"
                path = request.path
                if path.startswith(prefix):
                    target = f"/{current}/{path[len(prefix) :]}"
                    query = request.META.get("QUERY_STRING", "")
                    return HttpResponseRedirect(f"{target}?{query}" if query else target)
            message = _(
                "「%(slug)s」という自治体は、このサイトでは見つかりません。"
                "トップページの一覧からお選びください。"
            ) % {"slug": municipality_slug}
            return render(request, "404.html", {"message": message}, status=404)
        request.municipality = municipality  # type: ignore[attr-defined]
        return view(request, municipality, *args, **kwargs)

    return wrapped
