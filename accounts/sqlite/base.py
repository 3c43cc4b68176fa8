"""Django's SQLite backend, with a flush that empties tables as PostgreSQL's TRUNCATE does:
without firing their triggers.

SQLite has no TRUNCATE: Django flushes it with DELETE FROM every table, which the audit
trail's triggers refuse (accounts.models.AuditEvent). For the one transaction of a flush
the triggers are dropped, and put back from the SQL SQLite stored for them before it
commits; a flush that fails rolls back with them in place."""

from django.db import transaction
from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list):
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL"
                )
                triggers = cursor.fetchall()
                for name, _sql in triggers:
                    cursor.execute(f"DROP TRIGGER {self.quote_name(name)}")
            super().execute_sql_flush(sql_list)
            with self.connection.cursor() as cursor:
                for _name, sql in triggers:
                    cursor.execute(sql)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
