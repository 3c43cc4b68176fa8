from celery import shared_task


@shared_task(acks_late=True)
def export_build_task(job_id: int) -> None:
    """Build the workbook of an export job. A failure is recorded on the job (its status and
    error), where the user sees it and can ask again; a job already claimed is left alone."""
    from reports.excel import export_build

    export_build(job_id=job_id)


@shared_task(acks_late=True)
def tallies_rebuild_task(version_id: int) -> None:
    """Count a version's interviews and keep the counts from then on."""
    from reports.tallies import tallies_rebuild
    from surveys.models import QuestionnaireVersion

    version = QuestionnaireVersion.objects.filter(pk=version_id).first()
    if version is not None:
        tallies_rebuild(version=version)
