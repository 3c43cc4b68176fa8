"""The end of retention for the workbooks reports made (retention/services.py calls it):
a campaign's result workbooks hold its contacts' numbers, so they are deleted with them.
A workbook of a whole questionnaire version made before the purge may hold them too, and
goes as well; one made afterwards holds only anonymised numbers."""

from django.db.models import Q
from django.utils import timezone

from reports.models import ExportJob


def workbooks_of(campaign):
    """The workbooks still kept that may hold the campaign's contacts."""
    scope = Q(work_order_id=campaign.pk)
    if campaign.questionnaire_id:
        scope |= Q(work_order__isnull=True, version_id=campaign.questionnaire_id)
    return ExportJob.objects.filter(scope, removed_at__isnull=True).exclude(file="")


def workbook_size(job: ExportJob) -> int:
    try:
        return job.file.storage.size(job.file.name)
    except OSError:
        return 0


def workbooks_remove(*, campaign) -> tuple[int, int]:
    """Deletes the workbooks that may hold the campaign's contacts; returns (files, bytes)."""
    files = size = 0
    for job in workbooks_of(campaign).order_by("pk"):
        size += workbook_size(job)
        job.file.delete(save=False)
        ExportJob.objects.filter(pk=job.pk).update(file="", removed_at=timezone.now())
        files += 1
    return files, size
