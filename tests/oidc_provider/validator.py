"""The provider's OpenID Connect claims, plus switches that make it misbehave on purpose.

``groups`` carries the names of the user's Django groups (as Entra ID's groups claim carries
group ids). An application whose name contains one of the tags below gets ID tokens that are
properly signed but wrong in one way, so that the relying party's checks can be tested
against real tokens from a real provider:

- ``[wrong-issuer]``: ``iss`` names another provider;
- ``[wrong-audience]``: ``aud`` names another client;
- ``[extra-audience]``: ``aud`` names this client and another, without ``azp``;
- ``[wrong-nonce]``: ``nonce`` is not the one the client sent;
- ``[expired]``: ``exp`` lies ten minutes in the past (a provider whose clock is behind).
"""

from __future__ import annotations

import time
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class TestProviderValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "openid"}

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "email_verified": True,
            "name": user.get_full_name() or user.username,
            "preferred_username": user.username,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: Any
    ) -> tuple[dict[str, Any], Any]:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        name = request.client.name
        if "[wrong-issuer]" in name:
            claims["iss"] = "https://another-provider.example/o"
        if "[wrong-audience]" in name:
            claims["aud"] = "another-client"
        if "[extra-audience]" in name:
            claims["aud"] = [request.client.client_id, "another-client"]
        if "[wrong-nonce]" in name:
            claims["nonce"] = "not-the-nonce-that-was-sent"
        if "[expired]" in name:
            claims["exp"] = int(time.time()) - 600
        return claims, expiration_time
