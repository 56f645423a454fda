from django.urls import path

from madoguchi.consoles import operator_views as views

app_name = "operator"

urlpatterns = [
    path("", views.home, name="home"),
    path("bodies/find/", views.body_find, name="find"),
    path("bodies/add/<str:code>/", views.body_add, name="add"),
    path("bodies/<str:code>/", views.body_detail, name="body"),
    path("bodies/<str:code>/slug/", views.body_slug, name="slug"),
    path("bodies/<str:code>/active/", views.body_activate, name="activate"),
    path("bodies/<str:code>/invite/", views.body_invite, name="invite"),
]
