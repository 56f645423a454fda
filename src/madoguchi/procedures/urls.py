from django.urls import path

from madoguchi.procedures import views

app_name = "procedures"

urlpatterns = [
    path("procedures/", views.catalogue, name="catalogue"),
    path("procedures/<slug:code>/", views.procedure_detail, name="detail"),
    path("apply/resume/", views.resume_view, {"token": ""}, name="resume-base"),
    path("apply/resume/<str:token>/", views.resume_view, name="resume"),
    path("apply/<uuid:draft_id>/review/", views.review_view, name="review"),
    path("apply/<uuid:draft_id>/done/", views.done_view, name="done"),
    path("apply/<uuid:draft_id>/save/", views.save_view, name="save"),
    path("apply/<uuid:draft_id>/files/<uuid:file_id>/", views.draft_file_view, name="draft-file"),
    path("apply/<uuid:draft_id>/<slug:step>/", views.step_view, name="step"),
    path("status/", views.status_view, name="status"),
    path("status/respond/", views.respond_view, name="respond"),
]
