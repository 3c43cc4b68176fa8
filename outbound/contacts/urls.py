from django.urls import path

from outbound.contacts import reveal, views

app_name = "contacts"
urlpatterns = [
    path("campaigns/<int:order_pk>/", views.campaign_contacts, name="campaign_contacts"),
    path("campaigns/<int:order_pk>/upload/", views.import_upload, name="import_upload"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/map/", views.import_map, name="import_map"),
    path("imports/<int:pk>/status.json", views.import_status, name="import_status"),
    path("imports/<int:pk>/rejected.xlsx", views.import_rejects, name="import_rejects"),
    path("<int:pk>/reveal/", reveal.number_reveal, name="number_reveal"),
    path("held/<int:pk>/accept/", views.hold_accept, name="hold_accept"),
    path("held/<int:pk>/decline/", views.hold_decline, name="hold_decline"),
    path("do-not-call/", views.dnc_list, name="dnc_list"),
    path("do-not-call/add/", views.dnc_add, name="dnc_add"),
    path("do-not-call/upload/", views.dnc_upload, name="dnc_upload"),
    path("do-not-call/<int:pk>/remove/", views.dnc_remove, name="dnc_remove"),
    path("red-list/", views.red_list, name="red_list"),
    path("red-list/add/", views.red_list_add, name="red_list_add"),
    path("red-list/upload/", views.red_list_upload, name="red_list_upload"),
    path("red-list/<int:pk>/remove/", views.red_list_remove, name="red_list_remove"),
]
