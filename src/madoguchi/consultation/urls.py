from django.urls import path

from madoguchi.consultation import friend, views
from madoguchi.consultation.channels import web

app_name = "consultation"

urlpatterns = [
    path("", web.chat, name="chat"),
    path("line/", friend.line_friend, name="line-friend"),
    path("continue/<str:token>/", web.chat_continue, name="continue"),
    path("staff/", views.inbox, name="inbox"),
    path(
        "staff/conversations/<uuid:conversation_id>/",
        views.conversation_detail,
        name="conversation",
    ),
    path("staff/faq/", views.faq_list, name="faq"),
    path("staff/faq/new/", views.faq_edit, name="faq-new"),
    path("staff/faq/<int:entry_id>/", views.faq_edit, name="faq-edit"),
    path("staff/faq/import/", views.faq_import, name="faq-import"),
    path("staff/faq/try/", views.faq_try, name="faq-try"),
    path("staff/faq/index/", views.faq_index, name="faq-index"),
    path("staff/faq/export.csv", views.faq_export, name="faq-export"),
    path("staff/synonyms/", views.synonyms, name="synonyms"),
    path("staff/learning/", views.learning, name="learning"),
    path("staff/line/", views.line_settings, name="line"),
]
