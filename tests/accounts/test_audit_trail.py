"""The audit trail is append-only: the model, the admin and the database refuse to change or
delete an event, on SQLite and on PostgreSQL alike, while flushing a whole database (as the
tests do between transactional tests) still works. What it keeps has no phone number
whole."""

import datetime
import json
import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.test import RequestFactory
from django.urls import reverse

from accounts.audit import AuditAction, audit_record
from accounts.models import AppendOnly, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# A whole number: a mainland mobile, or any run of seven digits or more.
FULL_NUMBER = re.compile(r"1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|\d{7,}")


def _event(username="alice") -> AuditEvent:
    return audit_record(
        user=UserFactory(username=username),
        action=AuditAction.QUESTIONNAIRE_EXPORT,
        description="Survey v1",
        details={"a": 1},
    )


@pytest.fixture
def event(db):
    return _event()


def _refused(change) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        change()


def test_an_event_keeps_who_what_and_from_where(rf):
    user = UserFactory(username="bob", display_name="Bob")
    request = rf.get("/", REMOTE_ADDR="10.0.0.7")
    recorded = audit_record(
        user=user,
        action=AuditAction.DNC_ADD,
        target=user,
        details={"when": datetime.date(2026, 3, 1)},
        request=request,
    )
    event = AuditEvent.objects.get()
    assert event == recorded
    assert (event.user, event.username, event.action) == (user, "bob", "dnc_add")
    assert (event.target_type, event.target_id, event.description) == (
        "accounts.user",
        str(user.pk),
        "Bob",
    )
    assert event.details == {"when": "2026-03-01"} and event.address == "10.0.0.7"
    # Without a request (a task, a command) there is no address; without a user, nobody.
    system = audit_record(user=None, action=AuditAction.DNC_ADD)
    assert (system.user, system.username, system.address) == (None, "", "")


def test_phone_numbers_are_masked_in_the_description_and_details():
    event = audit_record(
        user=None,
        action=AuditAction.DNC_ADD,
        description="+8613812345678",
        details={
            "phone": "+8613812345678",
            "spoken": "call me on 139 0000 1111 please",
            "nested": [{"landline": "+867318412345"}, "+442079460000"],
            "count": 3,
            "day": "2026-03-01",
        },
    )
    stored = json.dumps(event.details) + event.description
    assert not FULL_NUMBER.search(stored), stored
    assert event.description == "138****5678"
    assert event.details["spoken"] == "call me on 139****1111 please"
    assert event.details["count"] == 3 and event.details["day"] == "2026-03-01"


def test_the_model_refuses_to_change_or_delete_an_event(event):
    event.description = "changed"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(description="changed")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.bulk_update([event], ["description"])
    assert AuditEvent.objects.get().description == "Survey v1"


def test_the_database_refuses_update_and_delete_through_the_orm(event):
    # A plain queryset and Model.save go past the model's guard, straight to the database.
    plain = models.QuerySet(model=AuditEvent)
    _refused(lambda: plain.filter(pk=event.pk).update(description="changed"))
    _refused(lambda: plain.filter(pk=event.pk).delete())
    event.description = "changed"
    _refused(lambda: models.Model.save(event, force_update=True))
    _refused(lambda: models.Model.delete(event))
    assert AuditEvent.objects.get().description == "Survey v1"


def test_the_database_refuses_update_and_delete_in_sql(event):
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    for sql in (
        f"UPDATE {table} SET description = 'changed'",  # noqa: S608
        f"DELETE FROM {table} WHERE id = {int(event.pk)}",  # noqa: S608
        f"DELETE FROM {table}",  # noqa: S608
    ):

        def run(sql=sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

        _refused(run)
    assert AuditEvent.objects.get().description == "Survey v1"


def test_a_user_in_the_trail_cannot_be_deleted(event):
    with pytest.raises(models.ProtectedError):
        event.user.delete()
    assert AuditEvent.objects.get().username == "alice"


def test_the_admin_shows_events_read_only_even_to_a_superuser(client, event):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    change = reverse("admin:accounts_auditevent_change", args=[event.pk])
    page = client.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Survey v1" in html
    assert 'name="description"' not in html and 'name="_save"' not in html
    posted = {"description": "changed", "action": "dnc_add", "username": "mallory"}
    assert client.post(change, posted).status_code == 403
    add = reverse("admin:accounts_auditevent_add")
    assert client.get(add).status_code == 403
    assert client.post(add, posted).status_code == 403
    delete = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:accounts_auditevent_changelist")
    listing = client.get(changelist)
    assert listing.status_code == 200 and "delete_selected" not in listing.content.decode()
    client.post(
        changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert AuditEvent.objects.filter(
        pk=event.pk, description="Survey v1", username="alice"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_the_trail_and_keeps_it_append_only():
    """What the tests do between transactional tests (TRUNCATE on PostgreSQL, DELETE FROM
    on SQLite with the triggers lifted for that transaction)."""
    _event()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    event = _event("carol")
    table = connection.ops.quote_name(AuditEvent._meta.db_table)

    def delete():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608

    _refused(delete)
    assert AuditEvent.objects.get() == event


@pytest.mark.django_db(transaction=True)
def test_the_next_transactional_test_starts_from_an_empty_trail():
    """Runs after the one above, whose events the flush at its end removed."""
    assert not AuditEvent.objects.exists()
    _event()
    assert AuditEvent.objects.count() == 1


def test_an_anonymous_request_records_nobody():
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9")
    event = audit_record(user=AnonymousUser(), action=AuditAction.DNC_ADD, request=request)
    assert (event.user, event.username, event.address) == (None, "", "10.0.0.9")
