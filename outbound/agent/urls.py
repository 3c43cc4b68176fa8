from django.urls import path

from outbound.agent import views

app_name = "agent"
urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/", views.desk, name="desk"),
    path("campaigns/<int:pk>/start/", views.sign_in, name="sign_in"),
    path("campaigns/<int:pk>/next/", views.campaign_next, name="next"),
    path("me/pause/", views.pause, name="pause"),
    path("me/ready/", views.resume, name="resume"),
    path("me/stop/", views.sign_out, name="sign_out"),
    path("interviews/<int:pk>/", views.interview_page, name="interview"),
    path("interviews/<int:pk>/call.json", views.interview_call, name="call"),
    path("interviews/<int:pk>/dial/", views.interview_dial, name="dial"),
    path("interviews/<int:pk>/hang-up/", views.interview_hang_up, name="hang_up"),
    path("interviews/<int:pk>/answer/", views.interview_answer, name="answer"),
    path("interviews/<int:pk>/back/", views.interview_back, name="back"),
    path("interviews/<int:pk>/finish/", views.interview_finish, name="finish"),
    path("interviews/<int:pk>/release/", views.interview_release, name="release"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/agents.json", views.supervisor_json, name="supervisor_json"),
]
