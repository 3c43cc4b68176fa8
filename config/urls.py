from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.views import LoginView, PasswordChangeView
from api.urls import urlpatterns_v1 as api_v1
from config.views import favicon
from outbound.views import home

urlpatterns = [
    path("", home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", require_POST(auth_views.LogoutView.as_view()), name="logout"),
    path("password/", PasswordChangeView.as_view(), name="password_change"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("orders/", include("outbound.urls")),
    path("contacts/", include("outbound.contacts.urls")),
    path("approvals/", include("approvals.urls")),
    path("questionnaires/", include("surveys.urls")),
    path("reports/campaigns/", include("reports.campaign_urls")),
    path("reports/", include("reports.urls")),
    path("campaigns/", include("outbound.dialer.urls")),
    path("telephony/", include("outbound.webhooks")),
    path("", include("outbound.recordings.urls")),
    path("sandbox/", include("outbound.sandbox.urls")),
    path("agent/", include("outbound.agent.urls")),
    path("twilio/voice/", include("outbound.voice.urls")),
    path("audit/", include("accounts.urls")),
    path("retention/", include("retention.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api_v1),
]

# A page whose middleware found the database unavailable is answered 503, not 500.
handler500 = "ops.database.server_error"
