"""Who may add numbers to a campaign that is already calling: a list added once the outbound
administrator has started the campaign waits, out of the dialer's and the agents' reach,
until an outbound administrator accepts it; declined, its contacts go. Numbers of countries
the centre does not call and premium-rate or special-service numbers are refused at
import with their reason."""

import re

import phonenumbers
import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from outbound.agent import services as agent_services
from outbound.contacts import acceptance, numbering, services
from outbound.contacts.importer import contact_writer
from outbound.contacts.rules import ContactRules, RejectReason
from outbound.dialer.tasks import dial_campaign
from outbound.models import CampaignSettings, Contact, ContactHold, ContactImport, DialState
from outbound.services import order_submit
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign, second_agent
from tests.outbound.test_contacts_import import csv_upload, label, rejects_of
from tests.outbound.test_dialer_fixtures import later, phones, start

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier

HEADER = ["手机号码", "姓名"]
LATE = [["13900000001", "迟到一"], ["13900000002", "迟到二"], ["13900000003", "迟到三"]]
LATE_PHONES = ["+8613900000001", "+8613900000002", "+8613900000003"]
MAPPING = {"phone": 0, "name": 1}
Held = ContactHold.Status


@pytest.fixture(autouse=True)
def _settings(telephony_settings, tmp_path):
    telephony_settings.MEDIA_ROOT = tmp_path / "media"
    return telephony_settings


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def make_campaign(org, **kwargs):
    """A ready campaign whose order went through the approval chain, as every real one."""
    order = fx.make_campaign(org, **kwargs)
    order_submit(order=order, user=org.requester)
    return order


def import_list(user, order, capture, rows=LATE) -> ContactImport:
    """`rows` uploaded by `user` and imported by the real task (eager), its follow-ups
    (the rejected rows' workbook, the e-mails) run too."""
    with capture(execute=True):  # the worker reads the file's columns
        job = services.import_create(
            campaign=order, user=user, upload=csv_upload(rows=rows, header=HEADER)
        )
    job.refresh_from_db()
    with capture(execute=True):
        services.import_start(job=job, user=user, mapping=MAPPING, deadline_days=7)
    job.refresh_from_db()
    return job


def dial(order, capture) -> list[str]:
    """One tick of the dialer for `order` (the real task: enrol, claim, place); the numbers
    it claimed."""
    before = set(DialState.objects.filter(campaign=order).exclude(status="pending"))
    with capture(execute=True):
        dial_campaign(order.pk)
    claimed = DialState.objects.filter(campaign=order).exclude(status="pending")
    return sorted(state.contact.phone for state in claimed if state not in before)


def form_posting_to(html: str, url: str) -> str:
    match = re.search(rf'<form[^>]*action="{re.escape(url)}"[^>]*>', html)
    assert match, f"no form posting to {url}"
    return match.group(0)


def test_a_requesters_list_added_after_the_start_is_held_and_never_claimed(org, carrier, capture):
    order = start(make_campaign(org, phones=phones(2)), org)
    job = import_list(org.requester, order, capture)
    assert job.status == ContactImport.Status.DONE, job.error
    assert job.imported == 3
    hold = ContactHold.objects.get()
    assert (hold.status, hold.contact_import, hold.added_by) == (Held.HELD, job, org.requester)
    assert hold.source == ContactHold.Source.IMPORT and hold.contacts_count == 3
    held = Contact.objects.filter(campaign=order, hold=hold)
    assert sorted(held.values_list("phone", flat=True)) == LATE_PHONES

    assert dial(order, capture) == phones(2)
    assert sorted(carrier.numbers) == phones(2)
    # Tick after tick, the held contacts stay out of the queue.
    assert dial(order, capture) == []
    assert not DialState.objects.filter(contact__in=held).exists()
    # The outbound administrators are told, in their language, where to decide.
    assert [message.to for message in mail.outbox] == [[org.outbound_admin.email]]
    assert "3 contacts" in mail.outbox[0].body
    assert reverse("campaigns:detail", args=[order.pk]) in mail.outbox[0].body


@pytest.mark.parametrize("state", ["paused", "stopped"])
def test_a_campaign_paused_or_stopped_has_started_all_the_same(org, capture, state):
    order = start(make_campaign(org, phones=phones(1)), org)
    CampaignSettings.objects.filter(pk=order.pk).update(state=state)
    import_list(org.requester, order, capture)
    assert ContactHold.objects.get().status == Held.HELD


def test_the_outbound_administrator_accepts_and_the_dialer_calls_them(
    client, org, carrier, capture
):
    order = start(make_campaign(org, phones=phones(1)), org)
    import_list(org.requester, order, capture)
    assert dial(order, capture) == phones(1)
    hold = ContactHold.objects.get()

    client.force_login(org.outbound_admin)
    page = client.get(reverse("campaigns:detail", args=[order.pk])).content.decode()
    accept_url = reverse("contacts:hold_accept", args=[hold.pk])
    decline_url = reverse("contacts:hold_decline", args=[hold.pk])
    assert 'method="post"' in form_posting_to(page, accept_url)
    assert "data-confirm=" in form_posting_to(page, accept_url)
    assert "data-confirm=" in form_posting_to(page, decline_url)
    assert client.get(accept_url).status_code == 405

    response = client.post(accept_url)
    assert response.status_code == 302
    assert response.url == reverse("campaigns:detail", args=[order.pk])
    hold.refresh_from_db()
    assert (hold.status, hold.decided_by) == (Held.ACCEPTED, org.outbound_admin)
    assert hold.decided_at is not None
    assert dial(order, capture) == LATE_PHONES
    assert sorted(carrier.numbers) == sorted(phones(1) + LATE_PHONES)

    event = AuditEvent.objects.get(action=AuditAction.CONTACTS_ACCEPT)
    assert event.user == org.outbound_admin
    assert (event.target_type, event.target_id) == ("outbound.workorder", str(order.pk))
    assert event.details["contacts"] == 3 and event.details["hold"] == hold.pk
    # Deciding again changes nothing and says why.
    page = client.post(decline_url, follow=True).content.decode()
    assert "already accepted" in page
    assert Contact.objects.filter(hold=hold).count() == 3
    assert not AuditEvent.objects.filter(action=AuditAction.CONTACTS_DECLINE).exists()
    page = client.get(reverse("campaigns:detail", args=[order.pk])).content.decode()
    assert "3 contacts accepted by" in page


def test_declining_removes_them_and_the_counts_stay_true(client, org, carrier, capture):
    order = start(make_campaign(org, phones=phones(1)), org)
    job = import_list(org.requester, order, capture, rows=[*LATE, ["12345", "坏号"]])
    assert (job.rows_read, job.imported, job.invalid) == (4, 3, 1)
    hold = ContactHold.objects.get()

    client.force_login(org.outbound_admin)
    response = client.post(reverse("contacts:hold_decline", args=[hold.pk]))
    assert response.status_code == 302
    hold.refresh_from_db()
    assert (hold.status, hold.decided_by, hold.contacts_count) == (
        Held.DECLINED,
        org.outbound_admin,
        3,
    )
    job.refresh_from_db()
    assert (job.rows_read, job.imported, job.invalid) == (4, 0, 1)
    assert list(Contact.objects.filter(campaign=order).values_list("phone", flat=True)) == phones(1)
    assert dial(order, capture) == phones(1)
    assert carrier.numbers == phones(1)
    event = AuditEvent.objects.get(action=AuditAction.CONTACTS_DECLINE)
    assert event.user == org.outbound_admin and event.details["contacts"] == 3

    # The uploader reads what became of the list on its page.
    client.force_login(org.requester)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "3 contacts removed" in page
    # The numbers are no longer in the campaign: a later list may bring them again.
    again = import_list(org.requester, order, capture)
    assert again.imported == 3 and again.duplicates_in_campaign == 0


def test_the_requester_sees_the_wait_but_cannot_decide(client, org, capture):
    order = start(make_campaign(org, phones=phones(1)), org)
    import_list(org.requester, order, capture)
    hold = ContactHold.objects.get()
    accept_url = reverse("contacts:hold_accept", args=[hold.pk])
    decline_url = reverse("contacts:hold_decline", args=[hold.pk])

    client.force_login(org.requester)
    for page_url in (
        reverse("contacts:campaign_contacts", args=[order.pk]),
        reverse("campaigns:detail", args=[order.pk]),
    ):
        page = client.get(page_url).content.decode()
        assert 'data-testid="held-waiting"' in page
        assert "acceptance" in page
        assert accept_url not in page and decline_url not in page
    assert client.post(accept_url).status_code == 403
    assert client.post(decline_url).status_code == 403
    # Someone who cannot see the campaign does not learn the batch exists.
    client.force_login(org.nobody)
    assert client.post(accept_url).status_code == 404

    hold.refresh_from_db()
    assert hold.status == Held.HELD
    assert Contact.objects.filter(hold=hold).count() == 3
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.CONTACTS_ACCEPT, AuditAction.CONTACTS_DECLINE]
    ).exists()


def test_lists_before_the_start_and_the_administrators_own_are_not_held(org, carrier, capture):
    order = make_campaign(org)
    import_list(org.requester, order, capture)
    assert not ContactHold.objects.exists()
    start(order, org)
    assert dial(order, capture) == LATE_PHONES
    import_list(org.outbound_admin, order, capture, rows=[["13900000009", "管理员加的"]])
    assert not ContactHold.objects.exists()
    assert dial(order, capture) == ["+8613900000009"]
    assert not mail.outbox


def test_a_list_still_importing_cannot_be_decided(org, capture):
    order = start(make_campaign(org, phones=phones(1)), org)
    job = import_list(org.requester, order, capture)
    ContactImport.objects.filter(pk=job.pk).update(status=ContactImport.Status.RUNNING)
    hold = ContactHold.objects.get()
    with pytest.raises(Exception, match="still being imported"):
        acceptance.hold_accept(hold=hold, user=org.outbound_admin)
    assert ContactHold.objects.get().status == Held.HELD


def test_a_list_being_stored_when_the_campaign_starts_is_held_when_it_finishes(
    org, carrier, capture
):
    order = make_campaign(org, phones=phones(1))
    job = services.import_create(
        campaign=order, user=org.requester, upload=csv_upload(rows=LATE, header=HEADER)
    )
    # The list began before the start, so no hold was opened; its rows are being stored.
    assert (
        acceptance.hold_open(
            campaign=order, source="import", label=job.original_name, added_by=org.requester
        )
        is None
    )
    ContactImport.objects.filter(pk=job.pk).update(status=ContactImport.Status.RUNNING)
    writer = contact_writer(order.pk, job.pk)
    for phone in LATE_PHONES:
        writer.add(phone, "", "", "", "", {}, None)
    writer.flush()

    start(order, org)
    # The rows of a list still being imported wait outside the queue.
    assert dial(order, capture) == phones(1)
    with transaction.atomic():
        hold = acceptance.hold_import_finish(job=job, hold=None)
        ContactImport.objects.filter(pk=job.pk).update(status=ContactImport.Status.DONE)
    assert (hold.status, hold.contacts_count, hold.added_by) == (Held.HELD, 3, org.requester)
    assert dial(order, capture) == []
    assert carrier.numbers == phones(1)
    acceptance.hold_accept(hold=hold, user=org.outbound_admin)
    assert dial(order, capture) == LATE_PHONES


def test_agents_are_not_offered_held_contacts(org, capture):
    colleague = second_agent(org)
    order = agent_campaign(org, phones=phones(1), team=[colleague])
    import_list(org.requester, order, capture)
    first = agent_services.contact_reserve(campaign=order, agent=org.agent)
    assert first.contact.phone == phones(1)[0]
    # The only other contacts are held: nobody is due for the second agent, even a while
    # after they would have been queued.
    assert agent_services.contact_reserve(campaign=order, agent=colleague, now=later(1)) is None
    assert not DialState.objects.filter(contact__phone__in=LATE_PHONES).exists()
    acceptance.hold_accept(hold=ContactHold.objects.get(), user=org.outbound_admin)
    second = agent_services.contact_reserve(campaign=order, agent=colleague, now=later(2))
    assert second.contact.phone in LATE_PHONES


# --- numbers the centre may not call --------------------------------------------------


@pytest.mark.parametrize(
    ("number", "allowed", "refusal"),
    [
        ("+8613812345678", {"CN"}, None),  # a mobile
        ("+8673184123456", {"CN"}, None),  # a landline
        ("+868001234567", {"CN"}, None),  # toll-free costs the centre nothing
        ("+8616012345", {"CN"}, numbering.SPECIAL),  # premium-rate (160)
        ("+864001234567", {"CN"}, numbering.SPECIAL),  # shared-cost (400)
        ("+12025550123", {"CN"}, numbering.FOREIGN),
        ("+85291234567", {"CN"}, numbering.FOREIGN),  # Hong Kong is a region of its own
        ("+449090901234", {"CN"}, numbering.FOREIGN),
        ("+449090901234", {"CN", "GB"}, numbering.SPECIAL),  # premium-rate (09)
        ("+448431234567", {"CN", "GB"}, numbering.SPECIAL),  # premium-rate (0843)
        ("+445512345678", {"CN", "GB"}, numbering.SPECIAL),  # UAN (055)
        ("+447640123456", {"CN", "GB"}, numbering.SPECIAL),  # pager (076)
        ("+447012345678", {"CN", "GB"}, numbering.SPECIAL),  # personal, forwarded (070)
        ("+447400123456", {"CN", "GB"}, None),  # a mobile
        ("+8613812345678", {"GB"}, numbering.FOREIGN),
    ],
)
def test_which_numbers_may_be_called(number, allowed, refusal):
    assert numbering.number_refusal(number, frozenset(allowed)) == refusal


@pytest.mark.parametrize("region", ["CN", "HK", "FR"])
def test_the_quick_check_agrees_with_a_full_parse(region):
    """A region's own calling code is checked by its metadata's patterns without a parse;
    for its example number of every type, the answer is the full parse's."""
    allowed = frozenset({"CN", region})
    numbers = [
        phonenumbers.example_number_for_type(region, number_type)
        for number_type in vars(phonenumbers.PhoneNumberType).values()
        if isinstance(number_type, int)
    ]
    numbers = [
        phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
        for n in numbers
        if n is not None
    ]
    assert len(numbers) >= 4
    answers = {n: numbering.number_refusal(n, allowed) for n in numbers}
    assert answers == {n: numbering.parsed_refusal(n, allowed) for n in numbers}
    assert numbering.SPECIAL in answers.values() or region == "HK"


def test_foreign_and_premium_numbers_are_refused_at_import_with_the_reason(org, capture):
    order = make_campaign(org)
    rows = [
        ["13812345678", "本地手机"],
        ["0731-84123456", "本地固话"],
        ["800 123 4567", "免费电话"],
        ["16012345", "声讯台"],
        ["400-123-4567", "400号码"],
        ["+44 909 090 1234", "英国付费"],
        ["+1 202 555 0123", "美国"],
        ["12345", "坏号"],
    ]
    job = import_list(org.requester, order, capture, rows=rows)
    assert (job.rows_read, job.imported, job.invalid) == (8, 3, 5)
    assert sorted(Contact.objects.filter(campaign=order).values_list("phone", flat=True)) == [
        "+8613812345678",
        "+8673184123456",
        "+868001234567",
    ]
    rejected = {row[1]: row[-1] for row in rejects_of(job)[1:]}
    assert rejected == {
        "声讯台": label(RejectReason.SPECIAL_NUMBER),
        "400号码": label(RejectReason.SPECIAL_NUMBER),
        "英国付费": label(RejectReason.FOREIGN_NUMBER),
        "美国": label(RejectReason.FOREIGN_NUMBER),
        "坏号": label(RejectReason.INVALID_PHONE),
    }


def test_the_allowed_countries_come_from_the_setting(org, settings):
    order = make_campaign(org)
    settings.WAIHU_ALLOWED_COUNTRIES = frozenset({"CN", "GB"})
    rules = ContactRules(campaign=order, deadline_days=7)
    screened = rules.screen([0, 1, 2], ["+447400123456", "+449090901234", "+12025550123"])
    assert [row[1] for row in screened.accepted] == ["+447400123456"]
    assert screened.rejected == [
        (1, RejectReason.SPECIAL_NUMBER, None),
        (2, RejectReason.FOREIGN_NUMBER, None),
    ]
