from django.urls import path

from madoguchi.messaging import notice_views, staff_views, views

app_name = "messaging"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("sent/", views.subscribe_sent, name="subscribe-sent"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("my/<str:token>/", views.manage, name="manage"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("staff/", staff_views.home, name="staff-home"),
    path("staff/topics/", staff_views.topics, name="staff-topics"),
    path("staff/areas/", staff_views.areas, name="staff-areas"),
    path("staff/settings/", staff_views.settings_page, name="staff-settings"),
    path("staff/templates/new/", staff_views.template_edit, name="staff-template-new"),
    path("staff/templates/<int:template_id>/", staff_views.template_edit, name="staff-template"),
    path("staff/sends/new/", staff_views.send_new, name="staff-send-new"),
    path("staff/sends/<int:send_id>/", staff_views.send_detail, name="staff-send"),
    path("staff/sends/<int:send_id>/action/", staff_views.send_action, name="staff-send-action"),
    path("staff/notices/", notice_views.notices, name="staff-notices"),
    path(
        "staff/notices/templates/<str:kind>/",
        notice_views.notice_template,
        name="staff-notice-template",
    ),
]
