from django.urls import path

from outbound.voice import views

app_name = "voice"
urlpatterns = [
    path("attempts/<int:attempt_id>/start/", views.start, name="start"),
    path("interviews/<int:interview_id>/opt-out/", views.opt_out, name="opt_out"),
    # Questions by their database id: a question's code may hold any character.
    path(
        "interviews/<int:interview_id>/questions/<int:question_id>/",
        views.gather,
        name="gather",
    ),
    path(
        "interviews/<int:interview_id>/questions/<int:question_id>/recording/",
        views.recording_status,
        name="recording_status",
    ),
    path("attempts/<int:attempt_id>/bridge/", views.bridge, name="bridge"),
    path("attempts/<int:attempt_id>/bridge/status/", views.bridge_status, name="bridge_status"),
    path("attempts/<int:attempt_id>/bridge/dialled/", views.bridge_dialled, name="bridge_dialled"),
]
