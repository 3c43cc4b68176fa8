from celery import shared_task


@shared_task(acks_late=True)
def export_build_task(job_id: int) -> None:
    """Build the workbook of an export job. A failure is recorded on the job (its status and
    error), where the user sees it and can ask again; a job already claimed is left alone."""
    from reports.excel import export_build

    export_build(job_id=job_id)


@shared_task(acks_late=True)
def computed_build_task(computed_id: int) -> None:
    """Compute the figures a results page asked for."""
    from reports.computed import computed_build

    computed_build(pk=computed_id)


@shared_task(acks_late=True)
def tallies_rebuild_task(version_id: int) -> None:
    """Count a version's interviews and keep the counts from then on."""
    from reports.tallies import tallies_rebuild
    from surveys.models import QuestionnaireVersion

    version = QuestionnaireVersion.objects.filter(pk=version_id).first()
    if version is not None:
        tallies_rebuild(version=version)


@shared_task
def monthly_counts_task() -> None:
    """Recount the current and the previous month's kept counts for the leaders' page."""
    from django.utils import timezone

    from reports.indicators import add_months, monthly_rebuild

    this_month = timezone.localdate().replace(day=1)
    for month in (add_months(this_month, -1), this_month):
        monthly_rebuild(month)


@shared_task
def monthly_report_task() -> None:
    """From the first working day of a month, build and send the report of the month before
    (once)."""
    from reports.monthly import monthly_report_due

    monthly_report_due()
