from django.urls import path

from reports import campaign_views

app_name = "campaign_reports"

urlpatterns = [
    path("<int:order_pk>/", campaign_views.campaign_results, name="results"),
    path(
        "<int:order_pk>/questions/<int:question_pk>/answers/",
        campaign_views.campaign_open_answers,
        name="open_answers",
    ),
    path("<int:order_pk>/analysis/", campaign_views.campaign_analysis, name="analysis"),
    path("<int:order_pk>/exports/", campaign_views.campaign_export_start, name="export_start"),
]
