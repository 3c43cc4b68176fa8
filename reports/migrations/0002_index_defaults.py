from decimal import Decimal

from django.db import migrations

# The branch's brand weights and the complaint-callback target (DOMAIN.md); administrators
# change them in the admin.
WEIGHTS = [
    ("Easyown", "神州行", Decimal("50"), 1),
    ("GoTone", "全球通", Decimal("25"), 2),
    ("M-Zone", "动感地带", Decimal("20"), 3),
    ("TD", "TD-SCDMA, G3", Decimal("5"), 4),
]


def install(apps, schema_editor):
    SegmentWeight = apps.get_model("reports", "SegmentWeight")
    SatisfactionTarget = apps.get_model("reports", "SatisfactionTarget")
    for name, aliases, weight, position in WEIGHTS:
        SegmentWeight.objects.get_or_create(
            name=name, defaults={"aliases": aliases, "weight": weight, "position": position}
        )
    SatisfactionTarget.objects.get_or_create(
        kind="complaint_callback", defaults={"percent": Decimal("78")}
    )


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
