from celery import shared_task


@shared_task(acks_late=True)
def purge_due() -> dict:
    """The daily end of retention (beat, on the bulk queues): purges every campaign whose
    period has run out. A campaign left half done is finished by the next run."""
    from retention import services

    return services.purge(services.plan()).as_dict()
