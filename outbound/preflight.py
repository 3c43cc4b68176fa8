"""The checks to run before going live on a Twilio account (or, without credentials,
against the sandbox): each says PASS, WARN or FAIL and what to do. The telephony_check
command prints them and the system administrator's page shows them."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from outbound import telephony
from outbound.dialer import account
from outbound.models import CampaignSettings, WorkOrder
from outbound.voice import voices
from outbound.voice.speaker import default_voice, questionnaire_language
from surveys.models import Language

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    detail: str


def voices_configured() -> dict[str, str]:
    """The <Say> voice of each questionnaire language (WAIHU_VOICE_ZH_HANS, WAIHU_VOICE_EN;
    start-up has already refused one that does not speak its language)."""
    return {language: default_voice(language).name for language in Language.values}


def caller_ids_in_use() -> list[str]:
    """The unified caller ID and those of the campaigns that run or may start."""
    numbers = {settings.WAIHU_CALLER_ID}
    numbers.update(
        number or settings.WAIHU_CALLER_ID
        for number in CampaignSettings.objects.filter(
            campaign__run_status=WorkOrder.RunStatus.READY,
            state__in=[
                CampaignSettings.State.NOT_STARTED,
                CampaignSettings.State.RUNNING,
                CampaignSettings.State.PAUSED,
            ],
        ).values_list("caller_id", flat=True)
    )
    return sorted(numbers)


def check_mode() -> Check:
    if telephony.is_sandbox():
        return Check(
            WARN,
            _("Telephony"),
            _(
                "No Twilio credentials are set: calls go to Waihu's sandbox and nobody is "
                "called. Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to go live."
            ),
        )
    return Check(
        PASS,
        _("Telephony"),
        _("Calls go to the Twilio account %(sid)s.") % {"sid": settings.TWILIO_ACCOUNT_SID},
    )


def check_credentials() -> Check:
    name = _("Credentials")
    try:
        status = telephony.account_status()
    except telephony.AccountRefusal as error:
        return Check(FAIL, name, account.refusal_explanation(error.kind))
    except telephony.TelephonyError as error:
        if telephony.is_sandbox():
            return Check(
                FAIL,
                name,
                _(
                    "The sandbox did not answer (%(error)s): it is served by Waihu's web "
                    "server, which must be running at WAIHU_PUBLIC_BASE_URL."
                )
                % {"error": error},
            )
        return Check(
            FAIL,
            name,
            _("Twilio could not be asked about the account (%(error)s): check the network.")
            % {"error": error},
        )
    if status == "active":
        return Check(PASS, name, _("The account is active."))
    return Check(
        FAIL,
        name,
        _(
            "The account is %(status)s: Twilio places no call for it. Settle it with Twilio "
            "(its balance, or Support) before any campaign runs."
        )
        % {"status": status},
    )


def check_caller_id(number: str) -> Check:
    name = _("Caller ID %(number)s") % {"number": number}
    try:
        found = telephony.caller_id_check(number)
    except telephony.AccountRefusal as error:
        return Check(FAIL, name, account.refusal_explanation(error.kind, caller_id=number))
    except telephony.TelephonyError as error:
        return Check(
            FAIL, name, _("Not checked: Twilio could not be asked (%(error)s).") % {"error": error}
        )
    if found.owned:
        return Check(PASS, name, _("A phone number of the account."))
    if found.verified:
        return Check(PASS, name, _("A verified caller ID of the account."))
    return Check(FAIL, name, account.caller_id_problem_text(number))


def check_china(number: str) -> Check | None:
    """Twilio prohibits calls to China with a Chinese caller ID, and has stopped carrying
    calls to mainland China at all."""
    if not number.startswith("+86"):
        return None
    return Check(
        WARN,
        _("Caller ID %(number)s and China") % {"number": number},
        _(
            "Twilio's rules for calling China: calls to China using a Chinese (+86) caller ID "
            "are prohibited, only valid international numbers may be the caller ID, and since "
            "30 November 2023 Twilio no longer supports outbound calls to mainland China. "
            "Confirm with Twilio that this account may call its destinations from this "
            "number before the campaign runs (%(url)s)."
        )
        % {"url": account.CHINA_CALLING_URL},
    )


def check_voices() -> list[Check]:
    """Each language's voice, and every campaign that may still call with a voice of its
    own: Twilio fails a <Say> whose voice does not speak its language."""
    checks = []
    for language, name_of_voice in voices_configured().items():
        voice = voices.VOICES[name_of_voice]
        checks.append(
            Check(
                PASS,
                _("Voice for %(language)s") % {"language": Language(language).label},
                _("<Say> speaks with %(voice)s (%(code)s).")
                % {"voice": voice.name, "code": voice.language},
            )
        )
    campaigns = (
        CampaignSettings.objects.filter(
            campaign__mode=WorkOrder.Mode.VOICE,
            campaign__run_status=WorkOrder.RunStatus.READY,
            campaign__questionnaire__isnull=False,
            state__in=[
                CampaignSettings.State.NOT_STARTED,
                CampaignSettings.State.RUNNING,
                CampaignSettings.State.PAUSED,
            ],
        )
        .exclude(voice="")
        .values_list("campaign__title", "voice", "campaign__questionnaire__questionnaire__language")
    )
    for title, voice_name, language in campaigns:
        if voices.speaks(voice_name, questionnaire_language(language)):
            continue
        checks.append(
            Check(
                FAIL,
                _("Voice of “%(title)s”") % {"title": title},
                _(
                    "%(voice)s does not speak the questionnaire's language: Twilio would fail "
                    "every <Say>. Choose another voice in the campaign's settings."
                )
                % {"voice": voice_name},
            )
        )
    return checks


def check_public_url() -> Check:
    name = _("Public address")
    url = settings.PUBLIC_BASE_URL
    if telephony.is_sandbox():
        return Check(
            PASS,
            name,
            _("%(url)s: the sandbox calls Waihu back from inside.") % {"url": url},
        )
    problem = account.public_url_problem(url)
    if problem:
        return Check(FAIL, name, problem)
    reach = _(
        "Whether Twilio reaches it from the internet is for the operator to confirm: from "
        "outside, %(url)s/telephony/health/ must answer 204."
    ) % {"url": url}
    if account.host_is_private(account.url_host(url)):
        return Check(
            WARN,
            name,
            _("%(url)s is a private address that Twilio cannot reach.") % {"url": url}
            + " "
            + reach,
        )
    return Check(PASS, name, _("%(url)s is https.") % {"url": url} + " " + reach)


def check_cps() -> Check:
    name = _("Calls per second")
    budget = settings.WAIHU_ACCOUNT_CPS
    over = CampaignSettings.objects.filter(
        calls_per_second__gt=budget,
        state__in=[CampaignSettings.State.NOT_STARTED, CampaignSettings.State.RUNNING],
    ).count()
    text = _(
        "The account's budget per second, shared by all campaigns: %(budget)s "
        "(WAIHU_ACCOUNT_CPS). Keep it at or below the account's CPS in the Twilio console "
        "(Voice › Settings › General; 1 unless raised): Twilio queues calls beyond it."
    ) % {"budget": f"{budget:g}"}
    if over:
        more = ngettext(
            "%(count)s campaign asks for more on its own; it gets the account's budget.",
            "%(count)s campaigns ask for more on their own; they share the account's budget.",
            over,
        ) % {"count": over}
        return Check(WARN, name, f"{text} {more}")
    return Check(PASS, name, text)


def check_signatures() -> Check:
    name = _("Webhook signatures")
    if telephony.webhook_shared_key():
        return Check(
            PASS,
            name,
            _(
                "Callbacks signed with the auth token (HMAC-SHA1) are accepted, and those a "
                "Webhooks Rule signs with the SharedKey (HMAC-SHA256, header "
                "X-Twilio-Webhooks-Signature-Settings) are checked against "
                "TWILIO_WEBHOOK_SHARED_KEY."
            ),
        )
    return Check(
        PASS,
        name,
        _(
            "Callbacks must be signed with the auth token (HMAC-SHA1). If a Twilio Webhooks "
            "Rule signs Waihu's address with a SharedKey, set TWILIO_WEBHOOK_SHARED_KEY to its "
            "secret, or those callbacks are refused."
        ),
    )


def run_checks() -> list[Check]:
    checks = [check_mode(), check_credentials()]
    credentials_ok = checks[-1].status == PASS
    for number in caller_ids_in_use():
        if credentials_ok:
            checks.append(check_caller_id(number))
        china = check_china(number)
        if china:
            checks.append(china)
    checks.extend(check_voices())
    checks.extend([check_public_url(), check_cps(), check_signatures()])
    return checks
