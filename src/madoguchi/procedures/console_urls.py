from django.urls import path

from madoguchi.procedures import console

app_name = "console-applications"

urlpatterns = [
    path("", console.queue, name="queue"),
    path("summary/", console.summary, name="summary"),
    path("bulk/", console.bulk, name="bulk"),
    path("export/transfers/", console.export_transfers, name="export-transfers"),
    path("slips/", console.slips_batch, name="slips"),
    path("<str:receipt>/", console.detail, name="detail"),
    path("<str:receipt>/slip/", console.slip, name="slip"),
    path("<str:receipt>/files/<uuid:file_id>/", console.attachment, name="attachment"),
]
