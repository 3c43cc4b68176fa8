"""Roles and administration rights into the audit trail, however they change: in the
admin, in a shell or by a command. Changes made by a queryset's update() send no signal
and are not seen here."""

from django.contrib.auth.models import Group

from accounts.audit import AuditAction, audit_record, current_user
from accounts.models import User

PRIVILEGES = ("is_staff", "is_superuser")
_REMOVING = "_audit_groups_removing"
_PRIVILEGES_CHANGED = "_audit_privileges_changed"


def _record_roles(user: User, key: str, names: list[str]) -> None:
    if names:
        audit_record(
            user=current_user(),
            action=AuditAction.ROLES_CHANGE,
            target=user,
            details={key: sorted(names)},
        )


def groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """One event per user and direction: the roles a user was given, or lost. From the
    group's side (group.user_set.add(...)) each user gets their own event."""
    through = sender.objects
    if action == "pre_remove":
        # remove() is told pks the user may not have: note the memberships that go.
        side = {"group" if reverse else "user": instance.pk}
        other = "user_id" if reverse else "group_id"
        present = through.filter(**side, **{f"{other}__in": pk_set})
        setattr(instance, _REMOVING, set(present.values_list(other, flat=True)))
        return
    if action == "pre_clear":
        side = "group" if reverse else "user"
        other = "user_id" if reverse else "group_id"
        pks = set(through.filter(**{side: instance.pk}).values_list(other, flat=True))
        key = "removed"
    elif action == "post_remove":
        pks, key = instance.__dict__.pop(_REMOVING, set()), "removed"
    elif action == "post_add":
        pks, key = set(pk_set or ()), "added"
    else:
        return
    if not pks:
        return
    if reverse:
        for user in User.objects.filter(pk__in=pks).order_by("pk"):
            _record_roles(user, key, [instance.name])
    else:
        names = list(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
        _record_roles(instance, key, names)


def privileges_before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields is not None and not set(PRIVILEGES) & set(update_fields)):
        return
    if instance._state.adding:
        before = dict.fromkeys(PRIVILEGES, False)
    else:
        before = User.objects.filter(pk=instance.pk).values(*PRIVILEGES).first() or dict.fromkeys(
            PRIVILEGES, False
        )
    changed = {
        name: [before[name], getattr(instance, name)]
        for name in PRIVILEGES
        if before[name] != getattr(instance, name)
    }
    setattr(instance, _PRIVILEGES_CHANGED, changed)


def privileges_after_save(sender, instance, raw=False, **kwargs):
    changed = instance.__dict__.pop(_PRIVILEGES_CHANGED, None)
    if changed:
        audit_record(
            user=current_user(),
            action=AuditAction.PRIVILEGES_CHANGE,
            target=instance,
            details={"changed": changed},
        )
