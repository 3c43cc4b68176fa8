from django.contrib import admin

from reports.models import Analysis, ExportJob, SatisfactionTarget, SegmentWeight


@admin.register(SegmentWeight)
class SegmentWeightAdmin(admin.ModelAdmin):
    list_display = ("name", "aliases", "weight", "position")
    list_editable = ("weight", "position")
    ordering = ("position", "name")


@admin.register(SatisfactionTarget)
class SatisfactionTargetAdmin(admin.ModelAdmin):
    list_display = ("kind", "percent")


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ("__str__", "updated_by", "updated_at")
    raw_id_fields = ("version", "work_order", "updated_by")


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "progress", "created_by", "created_at", "finished_at")
    list_filter = ("status",)
    raw_id_fields = ("version", "work_order", "created_by")
