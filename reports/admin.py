from django.contrib import admin

from reports import models as _m
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


class IndicatorQuestionInline(admin.TabularInline):
    model = _m.IndicatorQuestion
    raw_id_fields = ("question",)
    extra = 0


@admin.register(_m.Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("__str__", "code", "level", "parent", "target", "position")
    list_filter = ("level",)
    ordering = ("level", "position", "code")
    inlines = [IndicatorQuestionInline]


@admin.register(_m.CompetitorScore)
class CompetitorScoreAdmin(admin.ModelAdmin):
    list_display = ("month", "indicator", "competitor", "percent")
    list_filter = ("competitor", "indicator")
    date_hierarchy = "month"


@admin.register(_m.MonthlyReport)
class MonthlyReportAdmin(admin.ModelAdmin):
    list_display = ("month", "built_at", "sent_at")
    readonly_fields = ("figures",)


@admin.register(_m.ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user",)
    raw_id_fields = ("user",)
