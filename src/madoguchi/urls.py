from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import set_language

from madoguchi.accounts import invitation_views
from madoguchi.accounts import views as account_views
from madoguchi.consultation.channels.line import line_webhook
from madoguchi.core import views as core_views
from madoguchi.tenants import views as tenant_views

municipality_patterns: list[URLPattern | URLResolver] = [
    path("dashboard/", include("madoguchi.opendata.urls")),
    path("", tenant_views.municipality_home, name="municipality-home"),
    path("staff/", include("madoguchi.accounts.urls")),
    path("staff/sso/", include("madoguchi.sso.urls")),
    path("staff/", tenant_views.console_home, name="console-home"),
    path("staff/audit/", include("madoguchi.audit.urls")),
    path("staff/admin/api-clients/", include("madoguchi.api.clients.urls")),
    path("staff/admin/", include("madoguchi.consoles.admin_urls")),
    path("staff/settings/", include("madoguchi.tenants.settings_urls")),
    path("staff/applications/", include("madoguchi.procedures.console_urls")),
    path("staff/procedures/", include("madoguchi.procedures.catalogue_admin_urls")),
    path("staff/reservations/", include("madoguchi.reservations.console_urls")),
    path("reservations/", include("madoguchi.reservations.urls")),
    path("staff/reports/", include("madoguchi.reports.console_urls")),
    path("reports/", include("madoguchi.reports.urls")),
    path("", include("madoguchi.procedures.urls")),
    path("chat/", include("madoguchi.consultation.urls")),
    path("health/", include("madoguchi.surveillance.urls")),
    path("messages/", include("madoguchi.messaging.urls")),
    path("line/webhook", line_webhook, name="consultation-line-webhook"),
]

urlpatterns = [
    path("", tenant_views.site_index, name="site-index"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("staff/login/", account_views.platform_login_view, name="platform-login"),
    path("staff/login/code/", account_views.platform_code_view, name="platform-code"),
    path("staff/invitation/", invitation_views.invitation_password, name="invitation-password"),
    path("staff/invitation/code/", invitation_views.invitation_code, name="invitation-code"),
    path("staff/invitation/<str:token>/", invitation_views.invitation_open, name="invitation-open"),
    path("operator/", include("madoguchi.consoles.operator_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("madoguchi.api.urls")),
    path("opendata/", include("madoguchi.opendata.site_urls")),
    path("<slug:municipality_slug>/", include(municipality_patterns)),
]

handler500 = "madoguchi.core.views.server_error"
