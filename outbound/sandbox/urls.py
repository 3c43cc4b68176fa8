from django.urls import path, re_path

from outbound.sandbox import account, recordings, views

app_name = "sandbox"
urlpatterns = [
    path("2010-04-01/Accounts/<str:account_sid>.json", account.account_detail, name="account"),
    path("2010-04-01/Accounts/<str:account_sid>/Calls.json", views.calls, name="calls"),
    path(
        "2010-04-01/Accounts/<str:account_sid>/Calls/<str:sid>.json",
        views.call_detail,
        name="call_detail",
    ),
    path(
        "2010-04-01/Accounts/<str:account_sid>/IncomingPhoneNumbers.json",
        account.incoming_phone_numbers,
        name="incoming_phone_numbers",
    ),
    path(
        "2010-04-01/Accounts/<str:account_sid>/OutgoingCallerIds.json",
        account.outgoing_caller_ids,
        name="outgoing_caller_ids",
    ),
    re_path(
        r"^2010-04-01/Accounts/(?P<account_sid>[^/]+)/Recordings/(?P<sid>RE[0-9a-fA-F]{32})\.json$",
        recordings.recording_resource,
        name="recording_resource",
    ),
    re_path(
        r"^2010-04-01/Accounts/(?P<account_sid>[^/]+)/Recordings/"
        r"(?P<sid>RE[0-9a-fA-F]{32})(?:\.(?P<format>wav|mp3))?$",
        recordings.recording_media,
        name="recording",
    ),
]
