from django.urls import path

from madoguchi.reservations import console

app_name = "reservations_staff"

urlpatterns = [
    path("", console.home, name="home"),
    path("report/", console.usage, name="report"),
    path("resources/", console.resources, name="resources"),
    path("closed/", console.closed_days, name="closed"),
    path("<slug:code>/day/", console.day_list, name="day"),
    path("<slug:code>/slots/", console.slots_upload, name="slots"),
]
