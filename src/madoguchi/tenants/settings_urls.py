"""The municipality admin's settings, under ``/<slug>/staff/settings/``."""

from django.urls import path

from madoguchi.tenants import settings_views

app_name = "settings"

urlpatterns = [
    path("", settings_views.settings_home, name="home"),
    path("contacts/new/", settings_views.contact_edit, name="contact-new"),
    path("contacts/<slug:key>/", settings_views.contact_edit, name="contact"),
]
