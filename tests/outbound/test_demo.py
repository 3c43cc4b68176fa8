import re
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.roles import Role
from approvals.models import ApprovalRequest
from approvals.selectors import inbox
from outbound.demo import DEMO_PASSWORD
from outbound.dialer.services import running_campaign_ids
from outbound.models import CampaignSettings, Contact, WorkOrder
from tests.factories import ensure_reference_data


@pytest.fixture(autouse=True)
def _development(settings):
    """The demo is for a development set-up: debug on, calls to the sandbox."""
    settings.DEBUG = True


@pytest.mark.django_db(transaction=True)
def test_seed_demo_loads_once_and_prints_the_logins():
    # Committed as on a first run, so the approvals' on-commit events fire as they would.
    ensure_reference_data()
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    assert "already loaded" in second.getvalue()
    for role in Role:
        assert User.objects.filter(groups__name=role).exists(), role
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD)
        assert user.username in first.getvalue()
    assert User.objects.filter(is_superuser=True).exists()
    order = WorkOrder.objects.get(mode=WorkOrder.Mode.AGENTS)
    assert order.questionnaire.is_published
    assert order.questionnaire.questions.count() == 15
    assert order.approval.status == ApprovalRequest.Status.IN_PROGRESS
    leader = User.objects.get(username="dept_leader")
    assert [r.subject for r in inbox(user=leader)] == [order]


@pytest.mark.django_db(transaction=True)
def test_seed_demo_starts_an_automated_campaign():
    ensure_reference_data()
    call_command("seed_demo", stdout=StringIO())
    campaign = WorkOrder.objects.get(mode=WorkOrder.Mode.VOICE)
    assert campaign.approval.status == ApprovalRequest.Status.APPROVED
    assert campaign.approval.decisions.count() == 7
    assert campaign.run_status == WorkOrder.RunStatus.READY
    assert campaign.dialing.state == CampaignSettings.State.RUNNING
    assert campaign.dialing.pk in running_campaign_ids()
    assert campaign.contacts.count() == 40 and campaign.dial_states.count() == 40
    assert campaign.questionnaire.mode == "voice" and campaign.questionnaire.is_published


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "production",
    [{"DEBUG": False}, {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32}],
)
def test_seed_demo_refuses_outside_development_unless_told(settings, production):
    ensure_reference_data()
    for name, value in production.items():
        setattr(settings, name, value)
    with pytest.raises(CommandError, match="--outside-development"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()
    if "TWILIO_ACCOUNT_SID" not in production:
        call_command("seed_demo", "--outside-development", stdout=StringIO())
        assert User.objects.filter(username="requester").exists()


@pytest.mark.django_db(transaction=True)
def test_the_demo_numbers_can_never_ring_a_real_phone():
    ensure_reference_data()
    call_command("seed_demo", stdout=StringIO())
    numbers = [
        *Contact.objects.values_list("phone", flat=True),
        *User.objects.exclude(phone="").values_list("phone", flat=True),
    ]
    assert len(numbers) == 42
    # Ofcom's range for drama: +44 7700 900000 to 900999, never allocated.
    assert all(re.fullmatch(r"\+447700900\d{3}", number) for number in numbers), numbers


@pytest.mark.django_db(transaction=True)
def test_a_demo_customer_who_opts_out_by_keypad_goes_on_the_list(client):
    """The drama range is no valid number to the numbering plan, but a customer's
    "do not call me" on a number Waihu holds is never lost to that."""
    from outbound.contacts.services import dnc_add
    from outbound.models import DoNotCallEntry

    ensure_reference_data()
    call_command("seed_demo", stdout=StringIO())
    contact = Contact.objects.first()
    with pytest.raises(ValidationError):
        dnc_add(phone=contact.phone, source=DoNotCallEntry.Source.CALL)
    entry = dnc_add(phone=contact.phone, source=DoNotCallEntry.Source.CALL, held=True)
    assert entry.phone == contact.phone
    with pytest.raises(ValidationError):
        dnc_add(phone="not a number", source=DoNotCallEntry.Source.CALL, held=True)
