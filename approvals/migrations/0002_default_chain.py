"""The customer's outbound-project approval chain (外呼项目审批流程). Filing the order is
step 1 of their document; the six steps below are steps 2 to 7."""

from django.db import migrations

STEPS = [
    # position, name, kind, actor, group, working hours
    (1, "需求部门领导审批", "approve", "department_leader", None, 8),
    (2, "客服部外呼管理员审核", "approve", "group", "outbound_admin", 8),
    (3, "客服部领导审批", "approve", "group", "cs_department_leader", 8),
    (4, "客服部外呼管理员分派任务", "assign", "group", "outbound_admin", 16),
    (5, "客服中心领导审批安排", "approve", "group", "cs_centre_leader", 8),
    (6, "客服中心外呼室执行外呼", "approve", "group", "call_agent", 8),
]


def install(apps, schema_editor):
    Chain = apps.get_model("approvals", "Chain")
    Step = apps.get_model("approvals", "Step")
    Group = apps.get_model("auth", "Group")
    chain, created = Chain.objects.get_or_create(
        code="outbound-project",
        defaults={
            "name": "外呼项目审批流程",
            "description": "需求人提出工单 → 需求部门领导审批 → 客服部外呼管理员审核 → 客服部领导审批 → "
            "客服部外呼管理员分派任务 → 客服中心领导审批安排 → 客服中心外呼室执行外呼",
            "is_default": not Chain.objects.filter(is_default=True).exists(),
        },
    )
    if not created:
        return
    for position, name, kind, actor, group, hours in STEPS:
        Step.objects.create(
            chain=chain,
            position=position,
            name=name,
            kind=kind,
            actor=actor,
            group=Group.objects.get(name=group) if group else None,
            time_limit_hours=hours,
        )


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial"), ("accounts", "0002_roles")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
