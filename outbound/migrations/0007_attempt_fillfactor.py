"""Room on each page of the call attempts for the row's next version (PostgreSQL).

An attempt is updated four or more times while its call runs (initiated, ringing,
answered, completed). With free space on its page and no indexed column changed, each
such update is a heap-only tuple: none of the table's nine indexes is touched. Other
databases have no such setting."""

from django.db import migrations

TABLES = {"outbound_callattempt": 70, "outbound_dialstate": 80}


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, percent in TABLES.items():
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(percent)})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("outbound", "0006_interviews")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
