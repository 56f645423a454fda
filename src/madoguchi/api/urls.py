"""``/api/``: the NinjaAPI, with the error shape also for wrong methods and unknown URLs.

django-ninja answers a method an endpoint lacks with a plain-text 405 before any exception
handler runs, its bare ``/api/`` raises Http404, and a URL no endpoint has never reaches it;
all three are answered here instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path, re_path
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from madoguchi.api.api import api
from madoguchi.api.errors import endpoint_not_found, error_response, method_not_allowed
from madoguchi.api.linkage.ninja_api import linkage_api
from madoguchi.core.dbfailure import is_database_unavailable, unavailable_response

View = Callable[..., HttpResponseBase]


def _json_errors(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with translation.override("ja"):
            try:
                response = view(request, *args, **kwargs)
            except Http404:  # ninja's view of the bare /api/ raises it
                return error_response(endpoint_not_found())
            except DatabaseError as exc:
                # Raised before ninja's own handlers run, e.g. by the per-client rate limit.
                if not is_database_unavailable(exc):
                    raise
                return unavailable_response(request, exc)
            if isinstance(response, HttpResponseNotAllowed):
                return error_response(method_not_allowed(response["Allow"]))
            return response

    return wrapped


@csrf_exempt
def _not_found(request: HttpRequest, rest: str = "") -> HttpResponseBase:
    with translation.override("ja"):
        return error_response(endpoint_not_found())


def _api_patterns(ninja_api: NinjaAPI) -> tuple[list[URLPattern | URLResolver], str, str]:
    patterns, app_name, namespace = ninja_api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_errors(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("", _api_patterns(api)),
    path("", _api_patterns(linkage_api)),
    re_path(r"^(?P<rest>.*)$", _not_found),
]
