"""The Django admin for platform operators, behind the same two-factor sign-in as staff."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode


class MadoguchiAdminSite(admin.AdminSite):
    site_header = "madoguchi 運用管理"
    site_title = "madoguchi 運用管理"
    index_title = "運用管理"

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.is_active and user.is_staff and user.is_superuser and user.is_verified())

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        next_url = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('platform-login')}?{urlencode({'next': next_url})}")


class MadoguchiAdminConfig(AdminConfig):
    default_site = "madoguchi.core.admin_site.MadoguchiAdminSite"
