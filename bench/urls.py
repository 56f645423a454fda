"""The product's URLs plus ``POST /_bench/status``: the baseline of the status benchmark.

The baseline view does the least a status lookup must do, through the same middleware stack:
parse the same JSON body, run the same indexed query for the receipt number (only the columns
it needs, no decryption), compare the keyed secret hash in constant time, and return a small
JSON. It does no rate limiting, no definition or label lookup and no per-request tenant query
(the 神戸市 id is looked up once per process). The ratio real/baseline is what the product's
extra work costs.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from madoguchi.procedures.models import Application
from madoguchi.procedures.receipts import lookup_secret_matches
from madoguchi.tenants.models import Municipality

BENCH_SLUG = "kobe"

_municipality_id: list[int] = []


def _kobe_id() -> int:
    if not _municipality_id:
        _municipality_id.append(
            Municipality.objects.values_list("pk", flat=True).get(slug=BENCH_SLUG)
        )
    return _municipality_id[0]


@csrf_exempt
@require_POST
def baseline_status(request: HttpRequest) -> HttpResponse:
    try:
        data = json.loads(request.body)
        receipt = str(data["receipt_number"])
        secret = str(data["secret"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "bad_request"}, status=400)
    row = (
        Application.objects.filter(municipality_id=_kobe_id(), receipt_number=receipt)
        .values("secret_hash", "state", "state_changed_at", "submitted_at", "due_date")
        .first()
    )
    if row is None or not lookup_secret_matches(receipt, secret, row["secret_hash"]):
        return JsonResponse({"error": "not_found"}, status=404)
    return JsonResponse(
        {
            "receipt_number": receipt,
            "state": row["state"],
            "state_changed_at": row["state_changed_at"].isoformat(),
            "submitted_at": row["submitted_at"].isoformat(),
            "expected_completion": row["due_date"].isoformat(),
        }
    )


urlpatterns = [
    path("_bench/status", baseline_status, name="bench-baseline-status"),
    path("", include("madoguchi.urls")),
]
