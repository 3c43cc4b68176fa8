# New actions change the check constraint; SQLite rebuilds the table for it, dropping the
# append-only triggers, so they are installed again at the end (accounts.audit_triggers).

from django.db import migrations, models

from accounts.audit_triggers import reinstall_triggers


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_audit_trail'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='auditevent',
            name='accounts_audit_action',
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('export_download', 'Results workbook downloaded'), ('rejects_download', 'Rejected contacts downloaded'), ('questionnaire_export', 'Questionnaire exported'), ('campaign_settings', 'Campaign settings changed'), ('campaign_start', 'Campaign started'), ('campaign_pause', 'Campaign paused'), ('campaign_resume', 'Campaign resumed'), ('campaign_stop', 'Campaign stopped'), ('dnc_add', 'Number added to the do-not-call list'), ('dnc_remove', 'Number taken off the do-not-call list'), ('dnc_upload', 'Do-not-call list uploaded'), ('red_list_add', 'Customer added to the red list'), ('red_list_remove', 'Customer taken off the red list'), ('red_list_upload', 'Red list uploaded'), ('admin_add', 'Added in the administration'), ('admin_change', 'Changed in the administration'), ('admin_delete', 'Deleted in the administration'), ('roles_change', 'Roles changed'), ('privileges_change', 'Administration rights changed'), ('number_reveal', 'Full phone number shown'), ('contacts_accept', 'Contacts added after approval accepted'), ('contacts_decline', 'Contacts added after approval declined'), ('retention_purge', 'Personal data removed at the end of retention'), ('api_call', 'Integration called the API')], max_length=40, verbose_name='action'),
        ),
        migrations.AddConstraint(
            model_name='auditevent',
            constraint=models.CheckConstraint(condition=models.Q(('action__in', ['export_download', 'rejects_download', 'questionnaire_export', 'campaign_settings', 'campaign_start', 'campaign_pause', 'campaign_resume', 'campaign_stop', 'dnc_add', 'dnc_remove', 'dnc_upload', 'red_list_add', 'red_list_remove', 'red_list_upload', 'admin_add', 'admin_change', 'admin_delete', 'roles_change', 'privileges_change', 'number_reveal', 'contacts_accept', 'contacts_decline', 'retention_purge', 'api_call'])), name='accounts_audit_action'),
        ),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
