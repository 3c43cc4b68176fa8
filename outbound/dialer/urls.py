from django.urls import path

from outbound.dialer import views

app_name = "campaigns"
urlpatterns = [
    path("telephony-check/", views.telephony_check, name="telephony_check"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/live.json", views.campaign_live, name="live"),
    path("<int:pk>/settings/", views.campaign_settings, name="settings"),
    path("<int:pk>/<str:action>/", views.campaign_control, name="control"),
]
