"""Open-data pages of one municipality, under ``/<slug>/dashboard/``."""

from django.urls import path

from madoguchi.opendata import staff, views

app_name = "opendata"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("data/", views.catalogue, name="catalogue"),
    path("data/catalog.json", views.catalogue_json, name="catalogue-json"),
    path("data/<str:filename>", views.data_file, name="file"),
    path("staff/", staff.staff_home, name="staff"),
]
