from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.roles import Role
from approvals.models import ApprovalRequest
from approvals.selectors import inbox
from outbound.demo import DEMO_PASSWORD
from outbound.dialer.services import running_campaign_ids
from outbound.models import CampaignSettings, WorkOrder
from tests.factories import ensure_reference_data


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
