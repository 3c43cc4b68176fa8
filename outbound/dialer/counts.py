# ruff: noqa: S608  (every statement is built from the models' table names and fixed text)
"""Kept counts of each campaign's contacts, dialing states and attempt outcomes, so that the
campaign and supervisor pages read a few rows instead of counting hundreds of thousands.

What is kept: rows (campaign, kind, item, n) whose sums per (campaign, kind, item) are
- ("contact", ""): the campaign's contacts;
- ("state", status): its dialing states in that status;
- ("excluded", reason): its excluded dialing states with that reason;
- ("outcome", outcome): its call attempts with that outcome ("" while a call is open).

Why it stays exact: triggers in the database add the difference of every INSERT, UPDATE and
DELETE of outbound_contact, outbound_dialstate and outbound_callattempt in the statement's
own transaction, whichever code wrote it (the ORM, the status SQL, an import's INSERT …
SELECT). On PostgreSQL a statement appends one row per key it changed (from its transition
tables), so writers never wait on one another for a shared counter row; `counts_compact`
(beat, every minute) folds each key's rows into one with a DELETE … RETURNING, which takes
exactly the rows it folds. SQLite serialises writers anyway: there the triggers add to the
key's one row.

A migration that rebuilds one of the three tables on SQLite (an AlterField there copies
the table and drops its triggers) must call `reinstall_triggers`; `counts_rebuild`
recounts everything, for a database restored without the triggers."""

from collections import defaultdict

from django.db import connection, transaction

from outbound.models import CampaignCount

COUNTS = CampaignCount._meta.db_table
CONTACT, STATE, EXCLUDED, OUTCOME = "contact", "state", "excluded", "outcome"

# Per counted table: the (campaign_id, kind, item) each row contributes, over `{rows}`.
CONTRIBUTIONS = {
    "outbound_contact": "SELECT campaign_id, 'contact' AS kind, '' AS item FROM {rows}",
    "outbound_dialstate": (
        "SELECT campaign_id, 'state' AS kind, status AS item FROM {rows} "
        "UNION ALL SELECT campaign_id, 'excluded', excluded_reason FROM {rows} "
        "WHERE status = 'excluded'"
    ),
    "outbound_callattempt": "SELECT campaign_id, 'outcome' AS kind, outcome AS item FROM {rows}",
}
# The columns whose change moves a row from one key to another (SQLite's UPDATE OF).
COLUMNS = {
    "outbound_contact": "campaign_id",
    "outbound_dialstate": "campaign_id, status, excluded_reason",
    "outbound_callattempt": "campaign_id, outcome",
}


def _pg_function(table: str) -> str:
    def contributions(rows: str, sign: int) -> str:
        return (
            f"SELECT campaign_id, kind, item, {sign} AS n FROM ("
            + CONTRIBUTIONS[table].format(rows=rows)
            + ") AS c"
        )

    insert = f"INSERT INTO {COUNTS} (campaign_id, kind, item, n) SELECT campaign_id, kind, item, "
    return f"""
    CREATE OR REPLACE FUNCTION {table}_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {insert} SUM(n) FROM ({contributions("new_rows", 1)}) AS d GROUP BY 1, 2, 3;
        ELSIF TG_OP = 'DELETE' THEN
            {insert} SUM(n) FROM ({contributions("old_rows", -1)}) AS d GROUP BY 1, 2, 3;
        ELSE
            {insert} SUM(n) FROM ({contributions("new_rows", 1)} UNION ALL
                {contributions("old_rows", -1)}) AS d
            GROUP BY 1, 2, 3 HAVING SUM(n) <> 0;
        END IF;
        RETURN NULL;
    END;
    $$
    """


def _pg_install() -> list[str]:
    statements = []
    for table in CONTRIBUTIONS:
        statements.append(_pg_function(table))
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ):
            statements.append(
                f"CREATE TRIGGER {table}_count_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {table}_count()"
            )
    return statements


def _pg_remove() -> list[str]:
    statements = []
    for table in CONTRIBUTIONS:
        for event in ("insert", "delete", "update"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_count_{event} ON {table}")
        statements.append(f"DROP FUNCTION IF EXISTS {table}_count()")
    return statements


def _sqlite_add(campaign: str, kind: str, key: str, n: int, when: str = "") -> str:
    """Adds n to the key's row, making it if there is none (changes() is the UPDATE's)."""
    match = f"campaign_id = {campaign} AND kind = {kind} AND item = {key}"
    return (
        f"UPDATE {COUNTS} SET n = n + ({n}) WHERE id = "
        f"(SELECT id FROM {COUNTS} WHERE {match} LIMIT 1){when}; "
        f"INSERT INTO {COUNTS} (campaign_id, kind, item, n) SELECT {campaign}, {kind}, {key}, {n} "
        f"WHERE changes() = 0{when}; "
    )


def _sqlite_body(table: str, row: str, sign: int) -> str:
    campaign = f"{row}.campaign_id"
    if table == "outbound_contact":
        return _sqlite_add(campaign, "'contact'", "''", sign)
    if table == "outbound_callattempt":
        return _sqlite_add(campaign, "'outcome'", f"{row}.outcome", sign)
    excluded = f" AND {row}.status = 'excluded'"
    return _sqlite_add(campaign, "'state'", f"{row}.status", sign) + _sqlite_add(
        campaign, "'excluded'", f"{row}.excluded_reason", sign, when=excluded
    )


def _sqlite_install() -> list[str]:
    statements = []
    for table in CONTRIBUTIONS:
        statements += [
            f"CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table} BEGIN "
            + _sqlite_body(table, "NEW", 1)
            + "END",
            f"CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table} BEGIN "
            + _sqlite_body(table, "OLD", -1)
            + "END",
            f"CREATE TRIGGER {table}_count_update AFTER UPDATE OF {COLUMNS[table]} ON {table} "
            "BEGIN " + _sqlite_body(table, "OLD", -1) + _sqlite_body(table, "NEW", 1) + "END",
        ]
    return statements


def _sqlite_remove() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_count_{event}"
        for table in CONTRIBUTIONS
        for event in ("insert", "delete", "update")
    ]


def _run(schema_editor, statements: list[str]) -> None:
    for sql in statements:
        schema_editor.execute(sql, params=None)


def install_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _pg_install())
    elif vendor == "sqlite":
        _run(schema_editor, _sqlite_install())
    else:
        raise RuntimeError(
            f"The campaigns' kept counts have triggers for PostgreSQL and SQLite, not {vendor}."
        )


def remove_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _pg_remove())
    elif vendor == "sqlite":
        _run(schema_editor, _sqlite_remove())


def reinstall_triggers(apps, schema_editor) -> None:
    remove_triggers(apps, schema_editor)
    install_triggers(apps, schema_editor)


def _recount_sql() -> str:
    parts = " UNION ALL ".join(
        f"SELECT campaign_id, kind, item, COUNT(*) AS n FROM ({sql.format(rows=table)}) AS c "
        "GROUP BY campaign_id, kind, item"
        for table, sql in CONTRIBUTIONS.items()
    )
    return f"INSERT INTO {COUNTS} (campaign_id, kind, item, n) {parts}"


def counts_rebuild() -> None:
    """Recounts every campaign from its rows. The counted tables are locked meanwhile
    on PostgreSQL, so that no change falls between the recount and the triggers."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"LOCK TABLE {', '.join(CONTRIBUTIONS)}, {COUNTS} IN SHARE ROW EXCLUSIVE MODE"
            )
        cursor.execute(f"DELETE FROM {COUNTS}")
        cursor.execute(_recount_sql())


def rebuild_in_migration(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {COUNTS}")
        cursor.execute(_recount_sql())


def counts_compact() -> int:
    """Folds every key's rows into one and drops the rows that add nothing; returns how
    many rows went."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {COUNTS} WHERE n = 0")
        zeros = cursor.rowcount
        cursor.execute(
            f"SELECT DISTINCT campaign_id FROM {COUNTS} "
            "GROUP BY campaign_id, kind, item HAVING COUNT(*) > 1"
        )
        campaigns = [row[0] for row in cursor.fetchall()]
        if not campaigns:
            return zeros
        marks = ", ".join(["%s"] * len(campaigns))
        cursor.execute(
            f"DELETE FROM {COUNTS} WHERE campaign_id IN ({marks}) "
            "RETURNING campaign_id, kind, item, n",
            campaigns,
        )
        folded: dict[tuple, int] = defaultdict(int)
        rows = 0
        for campaign_id, kind, item, n in cursor.fetchall():
            folded[(campaign_id, kind, item)] += n
            rows += 1
        kept = [(*key, n) for key, n in sorted(folded.items()) if n]
        if kept:
            cursor.executemany(
                f"INSERT INTO {COUNTS} (campaign_id, kind, item, n) VALUES (%s, %s, %s, %s)",
                kept,
            )
        return zeros + rows - len(kept)


def campaign_counts(*, campaign_ids) -> dict[int, dict[tuple[str, str], int]]:
    """{campaign id: {(kind, item): count}} for the campaigns asked about."""
    ids = list(campaign_ids)
    found: dict[int, dict[tuple[str, str], int]] = {pk: defaultdict(int) for pk in ids}
    if not ids:
        return found
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT campaign_id, kind, item, SUM(n) FROM {COUNTS} "
            f"WHERE campaign_id IN ({marks}) GROUP BY campaign_id, kind, item",
            ids,
        )
        for campaign_id, kind, item, n in cursor.fetchall():
            found[campaign_id][(kind, item)] = int(n)
    return found
