from django.urls import path

from madoguchi.reports import console

app_name = "reports_staff"

urlpatterns = [
    path("", console.queue, name="queue"),
    path("setup/", console.setup, name="setup"),
    path("<int:pk>/", console.detail, name="detail"),
    path("<int:pk>/photos/<int:photo_id>/", console.photo, name="photo"),
]
