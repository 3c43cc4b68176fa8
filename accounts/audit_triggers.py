"""The audit trail's append-only guard in the database: triggers that refuse UPDATE and
DELETE of a row of accounts_auditevent (IntegrityError on both databases).

Flushing a whole database still works: PostgreSQL's TRUNCATE fires no row trigger, and on
SQLite Waihu's backend (accounts.sqlite) lifts the triggers for the flush's one transaction.
See accounts.models.AuditEvent.

Kept out of the migrations so that every migration that alters the table (SQLite rebuilds
it, dropping its triggers) installs the same guard again with `reinstall_triggers`."""

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = 'The audit trail is append-only: ' || TG_OP || ' is refused.',
            ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    """
    CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only()
    """,
]
POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent",
    "DROP FUNCTION IF EXISTS accounts_auditevent_append_only()",
]
SQLITE_INSTALL = [
    """
    CREATE TRIGGER accounts_auditevent_no_update BEFORE UPDATE ON accounts_auditevent
    BEGIN SELECT RAISE(ABORT, 'The audit trail is append-only: UPDATE is refused.'); END
    """,
    """
    CREATE TRIGGER accounts_auditevent_no_delete BEFORE DELETE ON accounts_auditevent
    BEGIN SELECT RAISE(ABORT, 'The audit trail is append-only: DELETE is refused.'); END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS accounts_auditevent_no_update",
    "DROP TRIGGER IF EXISTS accounts_auditevent_no_delete",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql, params=None)


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_INSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_INSTALL)
    else:
        # Waihu's settings accept only PostgreSQL and SQLite; another engine would leave the
        # trail without the database's guard, so the migration stops rather than go on.
        raise RuntimeError(
            f"The audit trail's append-only triggers exist for PostgreSQL and SQLite, "
            f"not for {vendor}."
        )


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_REMOVE)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_REMOVE)


def reinstall_triggers(apps, schema_editor):
    """Install the guard afresh, whether or not the database still holds it."""
    remove_triggers(apps, schema_editor)
    install_triggers(apps, schema_editor)
