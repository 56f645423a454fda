from django.urls import path

from madoguchi.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.open_list, name="open"),
    path("new/", views.file_report, name="file"),
    path("status/", views.status, name="status"),
]
