"""Provisioning for the tests: create or update users (with groups) and client applications."""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import Application


@csrf_exempt
@require_POST
def provision(request: HttpRequest) -> JsonResponse:
    expected = f"Bearer {settings.PROVISION_TOKEN}"
    if not secrets.compare_digest(request.headers.get("Authorization", ""), expected):
        return JsonResponse({"error": "forbidden"}, status=403)
    body = json.loads(request.body)
    for spec in body.get("users", []):
        user, _ = User.objects.get_or_create(username=spec["username"])
        user.email = spec.get("email", "")
        user.first_name = spec.get("name", "")
        user.set_password(spec["password"])
        user.save()
        user.groups.set(Group.objects.get_or_create(name=g)[0] for g in spec.get("groups", []))
    for spec in body.get("applications", []):
        app = Application.objects.filter(client_id=spec["client_id"]).first() or Application(
            client_id=spec["client_id"]
        )
        app.name = spec.get("name", spec["client_id"])
        app.client_secret = spec["client_secret"]
        app.client_type = Application.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        app.redirect_uris = " ".join(spec["redirect_uris"])
        app.post_logout_redirect_uris = " ".join(spec.get("post_logout_redirect_uris", []))
        app.skip_authorization = spec.get("skip_authorization", True)
        app.algorithm = Application.RS256_ALGORITHM
        app.save()
    return JsonResponse({"ok": True})
