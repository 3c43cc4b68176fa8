from celery import shared_task


@shared_task(name="outbound.contacts.import_run", ignore_result=True)
def contact_import_run(import_id: int) -> None:
    """Imports a queued contact list (a ContactImport's id)."""
    from outbound.contacts.services import import_run

    import_run(import_id=import_id)


@shared_task(name="outbound.contacts.import_inspect", ignore_result=True)
def contact_import_inspect(import_id: int) -> None:
    """Reads an uploaded list's columns and first rows (a ContactImport's id)."""
    from outbound.contacts.services import import_inspect

    import_inspect(import_id=import_id)


@shared_task(name="outbound.contacts.import_sweep", ignore_result=True)
def contact_import_sweep() -> None:
    """Queues again (or fails) the imports whose worker died; run every minute by beat."""
    from outbound.contacts.services import import_sweep

    import_sweep()


@shared_task(
    name="outbound.contacts.import_rejects",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def contact_import_rejects(import_id: int) -> None:
    """Builds the workbook of a finished import's rejected rows (a ContactImport's id)."""
    from outbound.contacts.services import import_build_rejects

    import_build_rejects(import_id=import_id)


@shared_task(
    name="outbound.contacts.hold_notify",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def contact_hold_notify(hold_id: int) -> int:
    """Tells the outbound administrators that contacts wait for their acceptance."""
    from outbound.contacts.notifications import hold_email_send

    return hold_email_send(hold_id=hold_id)
