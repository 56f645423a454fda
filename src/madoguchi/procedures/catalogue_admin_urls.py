from django.urls import path

from madoguchi.procedures import catalogue_admin, preview

app_name = "console-procedures"

urlpatterns = [
    path("", catalogue_admin.catalogue, name="catalogue"),
    # Two segments: a procedure may be called "upload", and "<code>/" must still reach it.
    path("upload/definition/", catalogue_admin.upload, name="upload"),
    path("<slug:code>/", catalogue_admin.procedure_detail, name="procedure"),
    path("<slug:code>/withdraw/", catalogue_admin.withdraw, name="withdraw"),
    path("<slug:code>/reopen/", catalogue_admin.reopen, name="reopen"),
    path("<slug:code>/versions/<int:number>/", catalogue_admin.version_detail, name="version"),
    path(
        "<slug:code>/versions/<int:number>/publish/",
        catalogue_admin.version_publish,
        name="publish",
    ),
    path("<slug:code>/versions/<int:number>/preview/", preview.preview_start, name="preview"),
    path(
        "<slug:code>/versions/<int:number>/preview/review/",
        preview.preview_review,
        name="preview-review",
    ),
    path(
        "<slug:code>/versions/<int:number>/preview/<slug:step>/",
        preview.preview_step,
        name="preview-step",
    ),
]
