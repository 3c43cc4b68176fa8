from django.urls import path

from outbound.agent import views

app_name = "agent"
urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/next/", views.campaign_next, name="next"),
    path("interviews/<int:pk>/", views.interview_page, name="interview"),
    path("interviews/<int:pk>/call.json", views.interview_call, name="call"),
    path("interviews/<int:pk>/dial/", views.interview_dial, name="dial"),
    path("interviews/<int:pk>/answer/", views.interview_answer, name="answer"),
    path("interviews/<int:pk>/back/", views.interview_back, name="back"),
    path("interviews/<int:pk>/finish/", views.interview_finish, name="finish"),
    path("interviews/<int:pk>/release/", views.interview_release, name="release"),
    path("supervisor/", views.supervisor, name="supervisor"),
]
