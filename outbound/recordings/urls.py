from django.urls import path, re_path

from outbound.recordings import views

app_name = "recordings"
urlpatterns = [
    path(
        "telephony/attempts/<int:attempt_id>/recording/",
        views.recording_status,
        name="callback",
    ),
    re_path(
        r"^recordings/(?P<sid>RE[0-9a-fA-F]{32})\.(?P<format>mp3|wav)$",
        views.recording_audio,
        name="audio",
    ),
]
