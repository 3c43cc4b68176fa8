"""Shared pieces for the agent console tests: a running agent campaign with the English
questionnaire, a second agent, answering through the services, and TwiML checks."""

import xml.etree.ElementTree as ET

from accounts.roles import Role
from outbound.models import CallAttempt, WorkOrder
from outbound.voice.voices import pair_is_valid
from surveys.engine import AnswerValue
from tests.factories import Org, UserFactory
from tests.outbound.test_dialer_fixtures import make_campaign, start

AGENT_PHONE = "+15005550100"

# Twilio's voice verbs and the attributes its documentation gives each.
TWIML_ATTRIBUTES = {
    "Response": set(),
    "Say": {"voice", "language", "loop"},
    "prosody": {"rate", "volume", "pitch"},
    "Record": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "maxLength",
        "playBeep",
        "trim",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "recordingStatusCallbackEvent",
    },
    "Gather": {
        "input",
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "numDigits",
        "hints",
        "language",
        "speechTimeout",
        "actionOnEmptyResult",
    },
    "Hangup": set(),
    "Pause": {"length"},
    "Redirect": {"method"},
    "Dial": {
        "action",
        "method",
        "timeout",
        "callerId",
        "record",
        "answerOnBridge",
        "timeLimit",
        "hangupOnStar",
        "ringTone",
        "recordingStatusCallback",
        "recordingStatusCallbackEvent",
        "recordingStatusCallbackMethod",
    },
    "Number": {
        "statusCallback",
        "statusCallbackEvent",
        "statusCallbackMethod",
        "sendDigits",
        "url",
        "method",
    },
}
# Which verbs each verb may hold.
TWIML_CHILDREN = {
    "Response": {"Say", "Gather", "Hangup", "Pause", "Redirect", "Dial", "Record"},
    "Gather": {"Say", "Pause"},
    "Say": {"prosody"},
    "Dial": {"Number"},
}


def parse_twiml(document: str | bytes) -> ET.Element:
    """Parses a TwiML document and checks it is well-formed TwiML: a <Response> root, known
    verbs where Twilio allows them, documented attributes only, sensible values."""
    root = ET.fromstring(document)  # noqa: S314  (our own output)
    assert root.tag == "Response"

    def check(element: ET.Element) -> None:
        assert element.tag in TWIML_ATTRIBUTES, element.tag
        unknown = set(element.attrib) - TWIML_ATTRIBUTES[element.tag]
        assert not unknown, (element.tag, unknown)
        allowed = TWIML_CHILDREN.get(element.tag, set())
        for child in element:
            assert child.tag in allowed, (element.tag, child.tag)
            check(child)
        if element.tag == "Gather":
            assert element.get("input") in ("dtmf", "speech", "dtmf speech")
            assert element.get("method") == "POST"
            assert element.get("action", "").startswith("http")
            assert element.get("timeout", "").isdigit()
            if element.get("input") == "dtmf":
                assert element.get("numDigits") or element.get("finishOnKey") == "#"
        if element.tag in ("Redirect", "Number"):
            assert (element.text or "").strip()
        if element.tag == "Say":
            assert "".join(element.itertext()).strip()
            assert pair_is_valid(element.get("voice"), element.get("language")), element.attrib

    check(root)
    return root


def second_agent(org: Org, username: str = "agent2", phone: str = AGENT_PHONE):
    return UserFactory(
        username=username,
        department=org.centre,
        roles=[Role.CALL_AGENT],
        agent_no="1002",
        phone=phone,
    )


def agent_campaign(org: Org, *, phones, team=(), **rules) -> WorkOrder:
    """A running agent campaign on the English questionnaire, its contacts queued."""
    org.agent.phone = AGENT_PHONE
    org.agent.save(update_fields=["phone"])
    order = make_campaign(org, phones=phones, mode=WorkOrder.Mode.AGENTS, **rules)
    WorkOrder.objects.filter(pk=order.pk).update(questionnaire=org.questionnaire)
    for agent in team:
        order.team.add(agent)
    order.refresh_from_db()
    return start(order, org)


def choice(code: int) -> AnswerValue:
    return AnswerValue.of_choices(code)


def customer_status(client, attempt: CallAttempt, status: str, **extra):
    """A status callback of the customer's leg, signed as Twilio signs it."""
    from django.urls import reverse

    from tests.outbound.test_dialer_fixtures import signed_post

    params = {"CallSid": f"CA{attempt.pk:032d}", "CallStatus": status, **extra}
    return signed_post(client, reverse("telephony:status", args=[attempt.pk]), params)
