"""Open-data pages across municipalities, under ``/opendata/`` (before the slug catch-all)."""

from django.urls import path

from madoguchi.opendata import views

urlpatterns = [
    path("", views.site_index, name="opendata-index"),
    path("catalog.json", views.site_catalogue_json, name="opendata-site-catalogue"),
    path("prefectures/<str:code>/", views.prefecture_dashboard, name="opendata-prefecture"),
    path(
        "prefectures/<str:code>/<str:filename>",
        views.prefecture_data_file,
        name="opendata-prefecture-file",
    ),
]
