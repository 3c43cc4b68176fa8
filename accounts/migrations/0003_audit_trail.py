import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


# The audit trail is append-only in the database too: see accounts.audit_triggers.
from accounts.audit_triggers import install_triggers, remove_triggers  # noqa: E402


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_roles'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='when')),
                ('username', models.CharField(blank=True, max_length=150, verbose_name='username')),
                ('action', models.CharField(choices=[('export_download', 'Results workbook downloaded'), ('rejects_download', 'Rejected contacts downloaded'), ('questionnaire_export', 'Questionnaire exported'), ('campaign_settings', 'Campaign settings changed'), ('campaign_start', 'Campaign started'), ('campaign_pause', 'Campaign paused'), ('campaign_resume', 'Campaign resumed'), ('campaign_stop', 'Campaign stopped'), ('dnc_add', 'Number added to the do-not-call list'), ('dnc_remove', 'Number taken off the do-not-call list'), ('dnc_upload', 'Do-not-call list uploaded'), ('red_list_add', 'Customer added to the red list'), ('red_list_remove', 'Customer taken off the red list'), ('red_list_upload', 'Red list uploaded'), ('admin_add', 'Added in the administration'), ('admin_change', 'Changed in the administration'), ('admin_delete', 'Deleted in the administration'), ('roles_change', 'Roles changed'), ('privileges_change', 'Administration rights changed')], max_length=40, verbose_name='action')),
                ('target_type', models.CharField(blank=True, max_length=100, verbose_name='target type')),
                ('target_id', models.CharField(blank=True, max_length=64, verbose_name='target id')),
                ('description', models.CharField(blank=True, max_length=255, verbose_name='description')),
                ('details', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='details')),
                ('address', models.CharField(blank=True, max_length=64, verbose_name='address')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_events', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'audit event',
                'verbose_name_plural': 'audit trail',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['-created_at', '-id'], name='audit_newest'), models.Index(fields=['action', '-created_at'], name='audit_action'), models.Index(fields=['username', '-created_at'], name='audit_username'), models.Index(fields=['target_type', 'target_id'], name='audit_target'), models.Index(fields=['address', '-created_at'], name='audit_address')],
                'constraints': [models.CheckConstraint(condition=models.Q(('action__in', ['export_download', 'rejects_download', 'questionnaire_export', 'campaign_settings', 'campaign_start', 'campaign_pause', 'campaign_resume', 'campaign_stop', 'dnc_add', 'dnc_remove', 'dnc_upload', 'red_list_add', 'red_list_remove', 'red_list_upload', 'admin_add', 'admin_change', 'admin_delete', 'roles_change', 'privileges_change'])), name='accounts_audit_action')],
            },
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
