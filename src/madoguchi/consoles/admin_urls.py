from django.urls import path

from madoguchi.consoles import admin_views as views

app_name = "console-admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/", views.departments, name="departments"),
    path("departments/<int:pk>/", views.department_detail, name="department"),
    path("departments/<int:pk>/rename/", views.department_rename_view, name="department-rename"),
    path("departments/<int:pk>/retire/", views.department_retire_view, name="department-retire"),
    path("staff/", views.staff_index, name="staff"),
    path("staff/invite/", views.staff_invite, name="invite"),
    path("staff/invite-clinic/", views.clinic_invite_view, name="invite-clinic"),
    path("staff/<int:user_id>/", views.staff_detail, name="member"),
    path("staff/<int:user_id>/roles/", views.staff_roles, name="roles"),
    path(
        "staff/<int:user_id>/<slug:action>/",
        views.staff_action,
        name="staff-action",
    ),
]
