from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.roles import Role
from approvals.models import ApprovalRequest
from approvals.selectors import inbox
from outbound.demo import DEMO_PASSWORD
from outbound.models import WorkOrder

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_once_and_prints_the_logins():
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
    order = WorkOrder.objects.get()
    assert order.questionnaire.is_published
    assert order.questionnaire.questions.count() == 15
    assert order.approval.status == ApprovalRequest.Status.IN_PROGRESS
    leader = User.objects.get(username="dept_leader")
    assert [r.subject for r in inbox(user=leader)] == [order]
