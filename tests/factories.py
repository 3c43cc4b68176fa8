import datetime

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Department, User
from accounts.roles import Role
from approvals.models import Chain
from outbound.models import WorkOrder
from outbound.services import order_create


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    department = factory.SubFactory(DepartmentFactory)
    password = factory.django.Password("pw")
    language = "en"

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: a transactional test before this one may have flushed the
            # groups that the roles migration made.
            self.groups.set([Group.objects.get_or_create(name=str(r))[0] for r in extracted])


def order_data(**overrides) -> dict:
    today = timezone.localdate()
    data = {
        "title": "Broadband satisfaction, Q4",
        "kind": WorkOrder.Kind.SATISFACTION,
        "background": "Complaints about home broadband rose in October.",
        "purpose": "Measure satisfaction after the repairs.",
        "target_description": "Customers whose repair closed in October.",
        "expected_contacts": 500,
        "desired_start": today + datetime.timedelta(days=3),
        "desired_end": today + datetime.timedelta(days=10),
        "calling_hours_start": datetime.time(9, 0),
        "calling_hours_end": datetime.time(20, 0),
        "mode": WorkOrder.Mode.AGENTS,
    }
    data.update(overrides)
    return data


def make_order(requester, **overrides) -> WorkOrder:
    return order_create(user=requester, data=order_data(**overrides))


def ensure_reference_data() -> None:
    """The roles and the default chain come from data migrations; a transactional test
    flushes them, so they are put back the same way."""
    from importlib import import_module

    from django.apps import apps

    import_module("accounts.migrations.0002_roles").create_roles(apps, None)
    import_module("approvals.migrations.0002_default_chain").install(apps, None)


class Org:
    """A cast for the default chain: one user per role, two requesting departments."""

    def __init__(self):
        ensure_reference_data()
        self.chain = Chain.objects.get(is_default=True)
        self.marketing = DepartmentFactory(code="marketing", name="Marketing")
        self.other = DepartmentFactory(code="other", name="Network")
        self.cs = DepartmentFactory(code="cs", name="Customer service")
        self.centre = DepartmentFactory(code="centre", name="Service centre")
        self.requester = UserFactory(
            username="req", department=self.marketing, roles=[Role.REQUESTER]
        )
        self.leader = UserFactory(
            username="leader", department=self.marketing, roles=[Role.DEPARTMENT_LEADER]
        )
        self.marketing.leader = self.leader
        self.marketing.save()
        self.other_leader = UserFactory(
            username="otherleader", department=self.other, roles=[Role.DEPARTMENT_LEADER]
        )
        self.other.leader = self.other_leader
        self.other.save()
        self.other_requester = UserFactory(
            username="otherreq", department=self.other, roles=[Role.REQUESTER]
        )
        self.outbound_admin = UserFactory(
            username="oadmin", department=self.cs, roles=[Role.OUTBOUND_ADMIN]
        )
        self.cs_leader = UserFactory(
            username="csleader", department=self.cs, roles=[Role.CS_DEPARTMENT_LEADER]
        )
        self.centre_leader = UserFactory(
            username="centreleader", department=self.centre, roles=[Role.CS_CENTRE_LEADER]
        )
        self.agent = UserFactory(
            username="agent", department=self.centre, roles=[Role.CALL_AGENT], agent_no="1001"
        )
        self.analyst = UserFactory(username="analyst", department=self.cs, roles=[Role.ANALYST])
        self.nobody = UserFactory(username="nobody", department=self.other)

    def step_actor(self, position: int) -> User:
        return {
            1: self.leader,
            2: self.outbound_admin,
            3: self.cs_leader,
            4: self.outbound_admin,
            5: self.centre_leader,
            6: self.agent,
        }[position]

    @property
    def questionnaire(self):
        """A published English questionnaire, made on first use."""
        if not hasattr(self, "_questionnaire"):
            from tests.surveys.factories import english_questionnaire

            self._questionnaire = english_questionnaire(created_by=self.outbound_admin)
        return self._questionnaire

    def assignment(self) -> dict:
        today = timezone.localdate()
        return {
            "questionnaire": self.questionnaire,
            "team": [self.agent],
            "planned_start": today + datetime.timedelta(days=4),
            "planned_end": today + datetime.timedelta(days=9),
            "daily_volume": 120,
        }
