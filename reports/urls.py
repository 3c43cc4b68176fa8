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
]
