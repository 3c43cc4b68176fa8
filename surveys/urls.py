from django.urls import path

from surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.questionnaire_list, name="questionnaire_list"),
    path("new/", views.questionnaire_create, name="questionnaire_create"),
    path("import/", views.questionnaire_import, name="questionnaire_import"),
    path("template.xlsx", views.questionnaire_template, name="questionnaire_template"),
    path("<int:pk>/", views.questionnaire_detail, name="questionnaire_detail"),
    path("<int:pk>/new-draft/", views.questionnaire_new_draft, name="questionnaire_new_draft"),
    path(
        "<int:pk>/import/",
        views.questionnaire_import_version,
        name="questionnaire_import_version",
    ),
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:pk>/parts/<slug:part>/", views.version_parts, name="version_parts"),
    path("versions/<int:pk>/questions/add/", views.question_add, name="question_add"),
    path("versions/<int:pk>/check/", views.version_check, name="version_check"),
    path("versions/<int:pk>/publish/", views.version_publish, name="version_publish"),
    path("versions/<int:pk>/discard/", views.version_discard, name="version_discard"),
    path("versions/<int:pk>/copy/", views.version_copy, name="version_copy"),
    path("versions/<int:pk>/preview/", views.version_preview, name="version_preview"),
    path("versions/<int:pk>/export.xlsx", views.version_export, name="version_export"),
    path("questions/<int:pk>/", views.question_edit, name="question_edit"),
    path("questions/<int:pk>/move/", views.question_move, name="question_move"),
    path("questions/<int:pk>/duplicate/", views.question_duplicate, name="question_duplicate"),
    path("questions/<int:pk>/delete/", views.question_delete, name="question_delete"),
    path("questions/<int:pk>/preset/", views.question_preset, name="question_preset"),
    path("questions/<int:pk>/choices/", views.question_choices, name="question_choices"),
    path("questions/<int:pk>/choices/add/", views.choice_add, name="choice_add"),
    path("questions/<int:pk>/rules/add/", views.rule_add, name="rule_add"),
    path("choices/<int:pk>/", views.choice_edit, name="choice_edit"),
    path("choices/<int:pk>/move/", views.choice_move, name="choice_move"),
    path("choices/<int:pk>/delete/", views.choice_delete, name="choice_delete"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/move/", views.rule_move, name="rule_move"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
]
