from django.urls import path

from outbound.sandbox import views

app_name = "sandbox"
urlpatterns = [
    path("2010-04-01/Accounts/<str:account_sid>/Calls.json", views.calls, name="calls"),
    path(
        "2010-04-01/Accounts/<str:account_sid>/Calls/<str:sid>.json",
        views.call_detail,
        name="call_detail",
    ),
    path(
        "2010-04-01/Accounts/<str:account_sid>/Recordings/<str:sid>",
        views.recording,
        name="recording",
    ),
]
