"""Reading API clients, for the admin console."""

from __future__ import annotations

from django.db.models import QuerySet

from madoguchi.api.clients.models import ApiClient, ApiClientSecret
from madoguchi.tenants.models import Municipality

__all__ = ["api_client_get", "api_client_list", "api_client_secrets"]


def api_client_list(*, municipality: Municipality) -> QuerySet[ApiClient]:
    return ApiClient.objects.filter(municipality=municipality).order_by("revoked_at", "name")


def api_client_get(*, municipality: Municipality, pk: int) -> ApiClient | None:
    return ApiClient.objects.filter(municipality=municipality, pk=pk).first()


def api_client_secrets(*, client: ApiClient) -> QuerySet[ApiClientSecret]:
    return ApiClientSecret.objects.filter(client=client).order_by("-created_at")
