"""Error pages and the health checks."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from madoguchi.core.dbfailure import unavailable_response_for
from madoguchi.core.health import readiness


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Shown when a form is sent without a valid CSRF token (usually an old tab)."""
    return render(request, "403_csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler: an unavailable database is a 503, anything else a 500."""
    return unavailable_response_for(request) or defaults.server_error(request)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness, for process supervisors: 200 while this process answers; no database."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness, for load balancers: 200 when every check passes, else 503 naming the failures."""
    checks = readiness()
    failing = [name for name, result in checks.items() if result != "ok"]
    return JsonResponse(
        {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks},
        status=503 if failing else 200,
    )
