from celery import shared_task


@shared_task(name="outbound.contacts.import_run", ignore_result=True)
def contact_import_run(import_id: int) -> None:
    """Imports a queued contact list (a ContactImport's id)."""
    from outbound.contacts.services import import_run

    import_run(import_id=import_id)
