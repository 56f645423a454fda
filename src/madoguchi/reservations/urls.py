from django.urls import path

from madoguchi.reservations import views

app_name = "reservations"

urlpatterns = [
    path("", views.resource_list, name="resources"),
    path("booking/", views.lookup, name="lookup"),
    path("booking/manage/", views.manage, name="manage"),
    path("booking/change/", views.change, name="change"),
    path("<slug:code>/", views.slot_list, name="slots"),
    path("<slug:code>/<int:slot_id>/", views.book, name="book"),
    path("<slug:code>/<int:slot_id>/wait/", views.wait, name="wait"),
]
