from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.version_list, name="version_list"),
    path("versions/<int:pk>/", views.results, name="results"),
    path(
        "versions/<int:pk>/questions/<int:question_pk>/answers/",
        views.open_answer_list,
        name="open_answers",
    ),
    path("versions/<int:pk>/analysis/", views.analysis, name="analysis"),
    path("versions/<int:pk>/exports/", views.export_start, name="export_start"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("computed/<int:pk>/status/", views.computed_status, name="computed_status"),
    path("computed/<int:pk>/again/", views.computed_again, name="computed_again"),
]

# The leaders' page: the branch's satisfaction index over time (reports/leaders.py).
from reports import leaders  # noqa: E402

urlpatterns += [
    path("leaders/", leaders.leaders_dashboard, name="leaders"),
    path("leaders/indicators/<int:pk>/", leaders.leaders_indicator, name="leaders_indicator"),
    path("leaders/reports/<int:pk>/", leaders.leaders_report, name="leaders_report"),
    path(
        "leaders/reports/<int:pk>/download/",
        leaders.leaders_report_download,
        name="leaders_report_download",
    ),
]
