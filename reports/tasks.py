from celery import shared_task


@shared_task(bind=True, max_retries=2, acks_late=True)
def export_build_task(self, job_id: int) -> None:
    """Build the workbook of an export job (reports.excel.export_build)."""
    from reports.excel import export_build

    export_build(job_id=job_id)
