from django.urls import path

from madoguchi.sso import views

app_name = "sso"

urlpatterns = [
    path("", views.sso_settings, name="settings"),
    path("start/", views.sso_start, name="start"),
    path("callback/", views.sso_callback, name="callback"),
    path("mappings/", views.sso_mapping_add, name="mapping-add"),
    path("mappings/<int:mapping_id>/delete/", views.sso_mapping_delete, name="mapping-delete"),
]
