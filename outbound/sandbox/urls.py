from django.urls import path

from outbound.sandbox import account, views

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
    path(
        "2010-04-01/Accounts/<str:account_sid>/Recordings/<str:sid>",
        views.recording,
        name="recording",
    ),
]
