from django.urls import path

from reports import campaign_views

app_name = "campaign_reports"

urlpatterns = [
    path("<int:order_pk>/", campaign_views.campaign_results, name="results"),
]
