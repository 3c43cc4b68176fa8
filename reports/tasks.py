from celery import shared_task


@shared_task(acks_late=True)
def export_build_task(job_id: int) -> None:
    """Build the workbook of an export job. A failure is recorded on the job (its status and
    error), where the user sees it and can ask again; a job already claimed is left alone."""
    from reports.excel import export_build

    export_build(job_id=job_id)
