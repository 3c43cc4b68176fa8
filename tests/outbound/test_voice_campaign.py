"""A whole automated campaign through the sandbox: the dialer claims 100 contacts and
places their calls with the real SDK, the sandbox plays them out and keys answers to our
<Gather>s, and every interview ends with answers that follow the skip rules."""

from collections import Counter

import pytest
from django.urls import reverse

from outbound.dialer import services as dialer
from outbound.models import CallAttempt, DialState, DoNotCallEntry, Interview, Outcome
from outbound.voice import services as voice
from surveys.engine import Outcome as WalkOutcome
from surveys.engine import script_build, walk
from surveys.models import ResponseStatus
from surveys.services import response_answers
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import phones
from tests.outbound.test_voice_fixtures import voice_campaign

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, telephony_settings, sandbox = fx.org, fx.telephony_settings, fx.sandbox

CONTACTS = 100


def test_a_voice_campaign_of_100_contacts_through_the_sandbox(org, sandbox, settings, monkeypatch):
    settings.WAIHU_SANDBOX_PLAY = True
    settings.WAIHU_SANDBOX_SHARES = {"answered": 80, "busy": 5, "no_answer": 5, "machine": 10}
    settings.WAIHU_DIALER_PLACE_THREADS = 4
    settings.WAIHU_SANDBOX_OPT_OUT_PERCENT = 10
    # Until the dialer's TwiML webhook hands voice campaigns to voice_start_twiml, the
    # calls fetch the voice survey's own start document.
    monkeypatch.setattr(
        dialer,
        "_twiml_url",
        lambda attempt_id: settings.PUBLIC_BASE_URL + reverse("voice:start", args=[attempt_id]),
    )
    order = voice_campaign(org, phones=phones(CONTACTS), machine_detection=True)
    assert len(dialer.campaign_dial(campaign_id=order.pk)) == CONTACTS

    attempts = list(CallAttempt.objects.filter(campaign=order))
    assert len(attempts) == CONTACTS
    assert all(a.finished_at is not None for a in attempts)
    outcomes = Counter(a.outcome for a in attempts)
    assert outcomes[Outcome.ANSWERED] > 0 and set(outcomes) <= {
        Outcome.ANSWERED,
        Outcome.BUSY,
        Outcome.NO_ANSWER,
        Outcome.MACHINE,
    }
    voice.voice_interviews_settle()

    script = script_build(order.questionnaire)
    interviews = list(
        Interview.objects.filter(campaign=order).select_related("response", "contact")
    )
    answered = {a.contact_id for a in attempts if a.outcome == Outcome.ANSWERED}
    assert {i.contact_id for i in interviews} == answered
    ends = Counter()
    opted_out = set()
    for interview in interviews:
        answers = response_answers(response=interview.response)
        if interview.disposition == "do_not_call":
            # Pressed the opt-out key during the introduction: no question was asked.
            assert not answers and interview.response.status == ResponseStatus.ABANDONED
            opted_out.add(interview.contact_id)
            continue
        result = walk(script, answers)
        # Every question on the path was answered, none off it, and the walk ended.
        assert result.current is None and not result.stale
        assert set(answers) == set(result.path)
        assert interview.closed_at is not None
        expected = {
            WalkOutcome.COMPLETED: (ResponseStatus.COMPLETED, "completed"),
            WalkOutcome.SCREENED_OUT: (ResponseStatus.SCREENED_OUT, "not_eligible"),
        }[result.outcome]
        assert (interview.response.status, interview.disposition) == expected
        ends[result.outcome] += 1
    assert ends[WalkOutcome.COMPLETED] > 0
    # Machines got no survey; busy and unanswered contacts wait for their retry.
    machines = {a.contact_id for a in attempts if a.outcome == Outcome.MACHINE}
    assert not machines & {i.contact_id for i in interviews}
    reached = DialState.objects.filter(campaign=order, status=DialState.Status.REACHED).count()
    assert reached == len(answered) - len(opted_out)
    # The sandbox's respondents took the offer about one time in ten; each is on the list.
    excluded = DialState.objects.filter(
        campaign=order, status=DialState.Status.EXCLUDED, excluded_reason="do_not_call"
    )
    assert set(excluded.values_list("contact_id", flat=True)) == opted_out
    listed = set(DoNotCallEntry.objects.values_list("phone", flat=True))
    assert listed == {i.contact.phone for i in interviews if i.contact_id in opted_out}
