from django.urls import path

from madoguchi.api.clients import views

app_name = "api-clients"

urlpatterns = [
    path("", views.client_index, name="index"),
    path("<int:pk>/", views.client_detail, name="detail"),
    path("<int:pk>/rotate/", views.client_rotate, name="rotate"),
    path("<int:pk>/revoke/", views.client_revoke, name="revoke"),
    path(
        "<int:pk>/webhooks/<int:subscription_id>/delete/",
        views.client_webhook_delete,
        name="webhook-delete",
    ),
]
