"""Every change the trail accounts for writes one event with who, what and from where: a
campaign's settings and its start, pause, resume and stop; the do-not-call and red lists
(add, take off, upload); approval chains, their steps and departments in the admin; a
user's roles and administration rights. A change that changes nothing writes nothing, and
no event keeps a phone number whole."""

import datetime
import json
import re

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from accounts.roles import Role
from approvals.models import Chain, Step
from outbound.contacts import services as lists
from outbound.models import CampaignSettings, DoNotCallEntry, RedListEntry
from tests.accounts.audit_helpers import ADDRESS, admin_form_data, no_event, one_event
from tests.factories import Org, UserFactory
from tests.outbound.test_dialer_fixtures import make_campaign, phones

pytestmark = pytest.mark.django_db

FULL_NUMBER = re.compile(r"1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|\d{7,}")


@pytest.fixture
def org(db):
    return Org()


@pytest.fixture
def desk(client):
    client.defaults["REMOTE_ADDR"] = ADDRESS
    return client


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def _csv(content: str):
    return SimpleUploadedFile("名单.csv", content.encode("gb18030"), content_type="text/csv")


# --- campaigns -----------------------------------------------------------------------------


SETTINGS = {
    "caller_id": "+8673112345",
    "max_attempts": 4,
    "retry_busy": "on",
    "retry_busy_minutes": 30,
    "retry_no_answer": "on",
    "retry_no_answer_minutes": 120,
    "retry_failed": "on",
    "retry_failed_minutes": 60,
    "retry_machine_minutes": 240,
    "calls_per_second": 1.0,
    "max_concurrent": 20,
    **{f"from_{day}": "09:00" for day in range(1, 8)},
    **{f"until_{day}": "20:00" for day in range(1, 8)},
}


def test_a_settings_change_is_one_event_with_old_and_new_values(desk, org):
    order = make_campaign(org, phones=phones(2))
    desk.force_login(org.outbound_admin)
    url = reverse("campaigns:settings", args=[order.pk])
    with one_event(AuditAction.CAMPAIGN_SETTINGS, user=org.outbound_admin, target=order) as found:
        assert desk.post(url, SETTINGS).status_code == 302
    changed = found[0].details["changed"]
    assert changed["max_attempts"] == [3, 4]
    # The caller number is masked like every other number.
    assert changed["caller_id"] == ["", "+86****2345"]
    assert "retry_busy" not in changed  # unchanged fields are not listed
    assert found[0].description == order.title
    # Refused settings change nothing and write nothing.
    with no_event():
        assert desk.post(url, {**SETTINGS, "until_1": "08:00"}).status_code == 200


def test_a_settings_change_through_the_service_is_one_event(org):
    """The service (the demo's way in) records too; outside a request, without an address."""
    from outbound.dialer.services import settings_update

    order = make_campaign(org, phones=phones(1))
    with one_event(
        AuditAction.CAMPAIGN_SETTINGS, user=org.outbound_admin, target=order, address=""
    ) as found:
        settings_update(
            campaign=order, user=org.outbound_admin, data={"max_attempts": 5, "record": False}
        )
    assert found[0].details == {"changed": {"max_attempts": [3, 5]}}


def test_start_pause_resume_stop_are_one_event_each(desk, org):
    order = make_campaign(org, phones=phones(2))
    desk.force_login(org.outbound_admin)

    def act(action):
        return desk.post(reverse("campaigns:control", args=[order.pk, action]))

    for action, code, states in (
        ("start", AuditAction.CAMPAIGN_START, ["not_started", "running"]),
        ("pause", AuditAction.CAMPAIGN_PAUSE, ["running", "paused"]),
        ("resume", AuditAction.CAMPAIGN_RESUME, ["paused", "running"]),
        ("stop", AuditAction.CAMPAIGN_STOP, ["running", "stopped"]),
    ):
        with one_event(code, user=org.outbound_admin, target=order) as found:
            assert act(action).status_code == 302
        assert found[0].details == {"state": states}
    # A stopped campaign cannot resume: refused, not recorded.
    with no_event():
        act("resume")
    assert CampaignSettings.objects.get(pk=order.pk).state == "stopped"


# --- the lists never to call ---------------------------------------------------------------


def test_the_do_not_call_list_add_remove_and_upload(desk, org):
    desk.force_login(org.outbound_admin)
    with one_event(
        AuditAction.DNC_ADD,
        user=org.outbound_admin,
        target=lambda: DoNotCallEntry.objects.get(),
    ) as found:
        desk.post(reverse("contacts:dnc_add"), {"phone": "138 1234 5678", "reason": "拒访"})
    assert found[0].description == "138****5678"
    assert found[0].details == {"campaign": None, "source": "manual"}
    # The same number again is already listed: nothing changes, nothing is written.
    with no_event():
        desk.post(reverse("contacts:dnc_add"), {"phone": "13812345678"})
    entry = DoNotCallEntry.objects.get()
    with one_event(AuditAction.DNC_REMOVE, user=org.outbound_admin, target=entry):
        desk.post(reverse("contacts:dnc_remove", args=[entry.pk]))
    with no_event():  # already off the list
        desk.post(reverse("contacts:dnc_remove", args=[entry.pk]))
    content = "号码,原因\r\n13900000000,拒访\r\n13900000001,\r\n123,x\r\n"
    with one_event(AuditAction.DNC_UPLOAD, user=org.outbound_admin) as found:
        desk.post(reverse("contacts:dnc_upload"), {"file": _csv(content), "reason": "名单"})
    assert found[0].description == "名单.csv"
    assert found[0].details == {
        "read": 3,
        "added": 2,
        "already": 0,
        "invalid": 1,
        "campaign": None,
    }


def test_a_customer_opting_out_is_recorded_without_a_user(org):
    """The voice survey's opt-out key and the agent's disposition add through the same
    service: the entry is recorded whoever (or whatever) added it."""
    with one_event(AuditAction.DNC_ADD, user=None, address=""):
        lists.dnc_add(phone="+8613700000000", source=DoNotCallEntry.Source.MANUAL)


def test_the_red_list_add_remove_and_upload(desk, org):
    desk.force_login(org.outbound_admin)
    start = timezone.localdate()
    end = start + datetime.timedelta(days=200)
    with one_event(
        AuditAction.RED_LIST_ADD,
        user=org.outbound_admin,
        target=lambda: RedListEntry.objects.get(),
    ) as found:
        desk.post(
            reverse("contacts:red_list_add"),
            {
                "phone": "13812345678",
                "customer_name": "王总",
                "starts_on": start.isoformat(),
                "ends_on": end.isoformat(),
            },
        )
    assert found[0].details == {"starts_on": start.isoformat(), "ends_on": end.isoformat()}
    entry = RedListEntry.objects.get()
    with one_event(AuditAction.RED_LIST_REMOVE, user=org.outbound_admin, target=entry):
        desk.post(reverse("contacts:red_list_remove", args=[entry.pk]))
    content = "客户,手机\r\n李总,13900000000\r\n赵总,0731-84123456\r\n"
    with one_event(AuditAction.RED_LIST_UPLOAD, user=org.outbound_admin) as found:
        desk.post(
            reverse("contacts:red_list_upload"),
            {"file": _csv(content), "starts_on": start.isoformat(), "ends_on": end.isoformat()},
        )
    assert found[0].details["added"] == 2
    # A refused upload (more than a year) writes nothing.
    with no_event():
        desk.post(
            reverse("contacts:red_list_upload"),
            {
                "file": _csv(content),
                "starts_on": start.isoformat(),
                "ends_on": (start + datetime.timedelta(days=400)).isoformat(),
            },
        )


def test_no_event_keeps_a_phone_number_whole(desk, org):
    order = make_campaign(org, phones=phones(2))
    desk.force_login(org.outbound_admin)
    desk.post(reverse("campaigns:settings", args=[order.pk]), SETTINGS)
    desk.post(
        reverse("contacts:dnc_add"),
        {"phone": "13812345678", "reason": "客户说打 13912345678 也不行", "campaign": order.pk},
    )
    start = timezone.localdate()
    desk.post(
        reverse("contacts:red_list_add"),
        {
            "phone": "+44 20 7946 0000",
            "customer_name": "13700001111",
            "reason": "+8613600002222",
            "starts_on": start.isoformat(),
            "ends_on": (start + datetime.timedelta(days=30)).isoformat(),
        },
    )
    lists.dnc_add(phone="0731-84123456", source=DoNotCallEntry.Source.MANUAL)
    for entry in DoNotCallEntry.objects.all():
        desk.post(reverse("contacts:dnc_remove", args=[entry.pk]))
    events = list(AuditEvent.objects.all())
    assert len(events) >= 6
    for event in events:
        stored = json.dumps(event.details, ensure_ascii=False) + " " + event.description
        assert not FULL_NUMBER.search(stored), (event.action, stored)


# --- the admin: approval chains, their steps, departments -----------------------------------


@pytest.fixture
def chain(db):
    group = Group.objects.get_or_create(name=str(Role.OUTBOUND_ADMIN))[0]
    chain = Chain.objects.create(code="short", name="Short chain")
    Step.objects.create(chain=chain, position=1, name="Review", actor="group", group=group)
    Step.objects.create(
        chain=chain, position=2, name="Leader", actor="department_leader", time_limit_hours=4
    )
    return chain


def _admin_post(client, url: str, change) -> dict:
    page = client.get(url)
    assert page.status_code == 200
    data = admin_form_data(page.content.decode())
    change(data)
    response = client.post(url, data)
    assert response.status_code == 302, response.context and [
        f.errors for f in [response.context["adminform"].form]
    ]
    return data


def test_a_chain_changed_in_the_admin_is_one_event(desk, root, chain):
    desk.force_login(root)
    url = reverse("admin:approvals_chain_change", args=[chain.pk])

    def rename(data):
        data["name"] = ["Shorter chain"]

    with one_event(AuditAction.ADMIN_CHANGE, user=root, target=chain) as found:
        _admin_post(desk, url, rename)
    assert found[0].details == {"changed": {"name": ["Short chain", "Shorter chain"]}}
    # Saving without a change writes nothing.
    with no_event():
        _admin_post(desk, url, lambda data: None)


def test_a_step_changed_added_and_deleted_in_the_admin(desk, root, chain):
    desk.force_login(root)
    url = reverse("admin:approvals_chain_change", args=[chain.pk])
    review, leader = chain.steps.order_by("position")

    def longer(data):
        index = next(i for i in range(2) if data[f"steps-{i}-id"] == [str(leader.pk)])
        data[f"steps-{index}-time_limit_hours"] = ["6"]

    with one_event(AuditAction.ADMIN_CHANGE, user=root, target=leader) as found:
        _admin_post(desk, url, longer)
    assert found[0].details == {"changed": {"time_limit_hours": ["4.0", "6"]}}

    def add(data):
        total = int(data["steps-TOTAL_FORMS"][0])
        data["steps-TOTAL_FORMS"] = [str(total + 1)]
        data.update(
            {
                f"steps-{total}-position": ["3"],
                f"steps-{total}-name": ["Sign-off"],
                f"steps-{total}-kind": ["approve"],
                f"steps-{total}-actor": ["department_leader"],
                f"steps-{total}-time_limit_hours": ["8"],
                f"steps-{total}-chain": [str(chain.pk)],
            }
        )

    with one_event(
        AuditAction.ADMIN_ADD, user=root, target=lambda: Step.objects.get(name="Sign-off")
    ) as found:
        _admin_post(desk, url, add)
    assert found[0].details["values"]["name"] == "Sign-off"
    assert "chain" not in found[0].details["values"]

    def delete_review(data):
        index = next(i for i in range(3) if data[f"steps-{i}-id"] == [str(review.pk)])
        data[f"steps-{index}-DELETE"] = ["on"]

    with one_event(AuditAction.ADMIN_DELETE, user=root, target=review) as found:
        _admin_post(desk, url, delete_review)
    assert found[0].description == "1. Review"
    assert not Step.objects.filter(pk=review.pk).exists()


def test_a_chain_added_and_deleted_in_the_admin(desk, root):
    desk.force_login(root)

    def fill(data):
        data.update({"code": ["new"], "name": ["New chain"]})

    with one_event(
        AuditAction.ADMIN_ADD, user=root, target=lambda: Chain.objects.get(code="new")
    ) as found:
        _admin_post(desk, reverse("admin:approvals_chain_add"), fill)
    assert found[0].details["values"]["name"] == "New chain"
    chain = Chain.objects.get(code="new")
    with one_event(AuditAction.ADMIN_DELETE, user=root, target=chain) as found:
        response = desk.post(
            reverse("admin:approvals_chain_delete", args=[chain.pk]), {"post": "yes"}
        )
        assert response.status_code == 302
    assert found[0].description == "New chain"


def test_a_department_leader_changed_in_the_admin(desk, root, org):
    desk.force_login(root)
    url = reverse("admin:accounts_department_change", args=[org.marketing.pk])

    def new_leader(data):
        data["leader"] = [str(org.other_leader.pk)]

    with one_event(AuditAction.ADMIN_CHANGE, user=root, target=org.marketing) as found:
        _admin_post(desk, url, new_leader)
    assert found[0].details == {"changed": {"leader": [org.leader.pk, org.other_leader.pk]}}


# --- roles and administration rights -------------------------------------------------------


def test_roles_changed_in_the_admin(desk, root, org):
    desk.force_login(root)
    url = reverse("admin:accounts_user_change", args=[org.analyst.pk])
    analyst = Group.objects.get(name=Role.ANALYST)
    agent = Group.objects.get(name=Role.CALL_AGENT)

    def drop_analyst(data):
        data["groups"] = []

    with one_event(AuditAction.ROLES_CHANGE, user=root, target=org.analyst) as found:
        _admin_post(desk, url, drop_analyst)
    assert found[0].details == {"removed": ["analyst"]}

    def give_agent(data):
        data["groups"] = [str(agent.pk)]

    with one_event(AuditAction.ROLES_CHANGE, user=root, target=org.analyst) as found:
        _admin_post(desk, url, give_agent)
    assert found[0].details == {"added": ["call_agent"]}
    assert list(org.analyst.groups.all()) == [agent]
    assert analyst not in org.analyst.groups.all()


def test_administration_rights_changed_in_the_admin(desk, root, org):
    desk.force_login(root)
    url = reverse("admin:accounts_user_change", args=[org.nobody.pk])

    def make_staff(data):
        data["is_staff"] = ["on"]

    with one_event(AuditAction.PRIVILEGES_CHANGE, user=root, target=org.nobody) as found:
        _admin_post(desk, url, make_staff)
    assert found[0].details == {"changed": {"is_staff": [False, True]}}
    # Logging in saves the user too, without a change of rights.
    with no_event():
        desk.force_login(org.nobody)


def test_roles_and_rights_changed_outside_a_request(org):
    """A shell or a command: recorded without a user or an address."""
    analyst = Group.objects.get(name=Role.ANALYST)
    agent = Group.objects.get(name=Role.CALL_AGENT)
    with one_event(AuditAction.ROLES_CHANGE, user=None, target=org.nobody, address="") as found:
        org.nobody.groups.add(analyst, agent)
    assert found[0].details == {"added": ["analyst", "call_agent"]}
    with no_event():  # a role already held, or one not held, changes nothing
        org.nobody.groups.add(analyst)
        org.nobody.groups.remove(Group.objects.get(name=Role.REQUESTER))
    with one_event(AuditAction.ROLES_CHANGE, user=None, target=org.nobody, address="") as found:
        org.nobody.groups.clear()
    assert found[0].details == {"removed": ["analyst", "call_agent"]}
    # From the group's side, each user gets their own event.
    before = AuditEvent.objects.count()
    analyst.user_set.add(org.requester, org.leader)
    added = AuditEvent.objects.order_by("pk")[before:]
    assert [(e.target_id, e.details) for e in added] == [
        (str(org.requester.pk), {"added": ["analyst"]}),
        (str(org.leader.pk), {"added": ["analyst"]}),
    ]
    org.nobody.is_superuser = True
    with one_event(AuditAction.PRIVILEGES_CHANGE, user=None, target=org.nobody, address=""):
        org.nobody.save()
    with one_event(AuditAction.PRIVILEGES_CHANGE, user=None, address="") as found:
        UserFactory(username="newroot", is_staff=True)
    assert found[0].details == {"changed": {"is_staff": [False, True]}}
