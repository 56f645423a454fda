"""The API app's models live in their own modules; Django looks for them here."""

from madoguchi.api.clients.models import ApiAccessToken, ApiClient, ApiClientSecret

__all__ = ["ApiAccessToken", "ApiClient", "ApiClientSecret"]
