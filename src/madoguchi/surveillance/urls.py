from django.urls import path

from madoguchi.surveillance import card_pages, console, line_pages, views

app_name = "surveillance"

urlpatterns = [
    path("clinic/", views.clinic_home, name="clinic-home"),
    path("clinic/csv/", views.notification_csv, name="notification-csv"),
    path("clinic/counts/", views.age_band_counts, name="age-band-counts"),
    path("clinic/new/<slug:category>/", views.notification_new, name="notification-new"),
    path(
        "clinic/new/<slug:disease>/<slug:category>/",
        views.notification_new,
        name="notification-new-disease",
    ),
    path("cases/", console.case_list, name="cases"),
    path("cases/<int:pk>/", console.case_detail, name="case"),
    path("cases/<int:pk>/certificate.pdf", console.certificate_pdf, name="certificate"),
    path("worklist/", console.worklist, name="worklist"),
    path("counts/", console.counts, name="counts"),
    path("report/<str:token>/", views.self_report, name="self-report"),
    path(
        "report/<str:token>/line/", line_pages.self_report_line_code, name="self-report-line-code"
    ),
    path("cases/<int:pk>/line-code/", line_pages.case_line_code, name="case-line-code"),
    path("cases/<int:pk>/report-card/", card_pages.report_card, name="report-card"),
]
