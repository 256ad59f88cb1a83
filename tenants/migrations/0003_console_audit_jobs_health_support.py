"""Operator console, public schema: the append-only audit log, jobs, support sessions, the health rollup."""

import datetime
import uuid

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.comparison
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models

# The database keeps the audit log append-only, whoever connects: UPDATE and DELETE raise.
# (TRUNCATE stays possible for the table's owner, which test databases use to reset.)
AUDIT_APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION public.rollcall_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$fn$;
CREATE TRIGGER tenants_auditevent_append_only
    BEFORE UPDATE OR DELETE ON public.tenants_auditevent
    FOR EACH ROW EXECUTE FUNCTION public.rollcall_audit_append_only();
"""
AUDIT_APPEND_ONLY_REVERSE_SQL = """
DROP TRIGGER IF EXISTS tenants_auditevent_append_only ON public.tenants_auditevent;
DROP FUNCTION IF EXISTS public.rollcall_audit_append_only();
"""


def health_rows_for_existing_tenants(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Every tenant has a summary row (new tenants get theirs from create_tenant)."""
    tenant_model = apps.get_model("tenants", "Tenant")
    health_model = apps.get_model("tenants", "TenantHealth")
    ids = list(tenant_model.objects.values_list("id", flat=True))
    health_model.objects.bulk_create([health_model(tenant_id=i) for i in ids], batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0002_accounts_and_setup'),
    ]

    operations = [
        migrations.CreateModel(
            name='TenantHealth',
            fields=[
                ('tenant', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='health', serialize=False, to='tenants.tenant')),
                ('refreshed_at', models.DateTimeField(blank=True, null=True)),
                ('idps', models.CharField(blank=True, max_length=200)),
                ('detected_idps', models.CharField(blank=True, max_length=200)),
                ('last_scim_request_at', models.DateTimeField(blank=True, null=True)),
                ('last_error_at', models.DateTimeField(blank=True, null=True)),
                ('requests_24h', models.PositiveIntegerField(default=0)),
                ('errors_24h', models.PositiveIntegerField(default=0)),
                ('status_2xx_24h', models.PositiveIntegerField(default=0)),
                ('status_4xx_24h', models.PositiveIntegerField(default=0)),
                ('status_5xx_24h', models.PositiveIntegerField(default=0)),
                ('unauthorized_24h', models.PositiveIntegerField(default=0)),
                ('auth_failures_24h', models.JSONField(blank=True, default=dict)),
                ('error_rate_24h', models.FloatField(default=0.0)),
                ('outbox_backlog', models.PositiveIntegerField(default=0)),
                ('oldest_pending_at', models.DateTimeField(blank=True, null=True)),
                ('handler_failures', models.PositiveIntegerField(default=0)),
                ('parked_events', models.PositiveIntegerField(default=0)),
                ('webhooks_succeeded_24h', models.PositiveIntegerField(default=0)),
                ('webhooks_failed_24h', models.PositiveIntegerField(default=0)),
                ('webhooks_dead', models.PositiveIntegerField(default=0)),
                ('webhook_endpoints_failing', models.PositiveIntegerField(default=0)),
                ('last_webhook_failure_at', models.DateTimeField(blank=True, null=True)),
                ('users_total', models.PositiveIntegerField(default=0)),
                ('users_active', models.PositiveIntegerField(default=0)),
                ('groups_total', models.PositiveIntegerField(default=0)),
                ('seats', models.JSONField(blank=True, default=dict)),
                ('billable_seats', models.PositiveIntegerField(default=0)),
                ('deprovision_p50_7d', models.FloatField(blank=True, null=True)),
                ('deprovision_p95_7d', models.FloatField(blank=True, null=True)),
                ('setup_stage', models.PositiveSmallIntegerField(default=0)),
                ('setup_updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('setup', models.JSONField(blank=True, default=dict)),
            ],
            options={
                'indexes': [models.Index(fields=['last_error_at'], name='health_last_error'), models.Index(fields=['setup_stage', 'setup_updated_at'], name='health_setup'), models.Index(condition=models.Q(('requests_24h__gt', 0), ('webhooks_succeeded_24h__gt', 0), ('webhooks_failed_24h__gt', 0), _connector='OR'), fields=['tenant'], name='health_windowed')],
            },
        ),
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('occurred_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('type', models.CharField(max_length=64)),
                ('actor_kind', models.CharField(max_length=16)),
                ('actor_id', models.CharField(max_length=128)),
                ('actor_label', models.CharField(blank=True, max_length=254)),
                ('actor_role', models.CharField(blank=True, max_length=32)),
                ('target_type', models.CharField(blank=True, max_length=32)),
                ('target_id', models.CharField(blank=True, max_length=128)),
                ('source_ip', models.GenericIPAddressField(blank=True, null=True)),
                ('reason', models.TextField(blank=True)),
                ('request_id', models.CharField(blank=True, max_length=64)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('tenant', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenants.tenant')),
            ],
            options={
                'indexes': [models.Index(fields=['tenant', 'occurred_at', 'id'], name='audit_tenant_time'), models.Index(fields=['occurred_at', 'id'], name='audit_time')],
            },
        ),
        migrations.CreateModel(
            name='Job',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(max_length=64)),
                ('requested_by', models.JSONField(default=dict)),
                ('params', models.JSONField(blank=True, default=dict)),
                ('state', models.JSONField(blank=True, default=dict)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=16)),
                ('progress_done', models.BigIntegerField(default=0)),
                ('progress_total', models.BigIntegerField(blank=True, null=True)),
                ('steps', models.PositiveIntegerField(default=0)),
                ('result_path', models.CharField(blank=True, max_length=500)),
                ('result', models.JSONField(blank=True, default=dict)),
                ('error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('tenant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to='tenants.tenant')),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('status', 'queued'), ('status', 'running'), _connector='OR'), fields=['updated_at'], name='job_unfinished'), models.Index(fields=['tenant', '-created_at'], name='job_tenant_recent')],
            },
        ),
        migrations.CreateModel(
            name='SupportSession',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('operator_id', models.CharField(max_length=128)),
                ('operator_label', models.CharField(blank=True, max_length=254)),
                ('reason', models.TextField()),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField()),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('ended_by', models.CharField(blank=True, max_length=254)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='support_sessions', to='tenants.tenant')),
            ],
            options={
                'indexes': [models.Index(fields=['tenant', '-started_at'], name='support_tenant_recent')],
            },
        ),
        migrations.CreateModel(
            name='TenantHealthDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('deprovisions', models.PositiveIntegerField(default=0)),
                ('deprovision_p50_seconds', models.FloatField(blank=True, null=True)),
                ('deprovision_p95_seconds', models.FloatField(blank=True, null=True)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='health_days', to='tenants.tenant')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('tenant', 'day'), name='health_day_uniq')],
            },
        ),
        migrations.CreateModel(
            name='TenantHealthHour',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField()),
                ('requests', models.PositiveIntegerField(default=0)),
                ('status_2xx', models.PositiveIntegerField(default=0)),
                ('status_4xx', models.PositiveIntegerField(default=0)),
                ('status_5xx', models.PositiveIntegerField(default=0)),
                ('unauthorized', models.PositiveIntegerField(default=0)),
                ('auth_failures', models.JSONField(blank=True, default=dict)),
                ('events_appended', models.PositiveIntegerField(default=0)),
                ('events_handled', models.PositiveIntegerField(default=0)),
                ('event_lag_avg_seconds', models.FloatField(blank=True, null=True)),
                ('event_lag_max_seconds', models.FloatField(blank=True, null=True)),
                ('webhooks_succeeded', models.PositiveIntegerField(default=0)),
                ('webhooks_failed', models.PositiveIntegerField(default=0)),
                ('webhooks_dead', models.PositiveIntegerField(default=0)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='health_hours', to='tenants.tenant')),
            ],
            options={
                'indexes': [models.Index(fields=['hour'], name='health_hour_time')],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'hour'), name='health_hour_uniq')],
            },
        ),
        migrations.AddIndex(
            model_name='tenant',
            index=models.Index(django.db.models.functions.text.Lower('name'), models.F('id'), name='tenant_name_ci'),
        ),
        migrations.AddIndex(
            model_name='tenant',
            index=models.Index(fields=['created_at', 'id'], name='tenant_created'),
        ),
        migrations.AddIndex(
            model_name='tenanthealth',
            index=models.Index(fields=['requests_24h', 'tenant'], name='health_sort_requests'),
        ),
        migrations.AddIndex(
            model_name='tenanthealth',
            index=models.Index(fields=['error_rate_24h', 'tenant'], name='health_sort_error_rate'),
        ),
        migrations.AddIndex(
            model_name='tenanthealth',
            index=models.Index(fields=['outbox_backlog', 'tenant'], name='health_sort_backlog'),
        ),
        migrations.AddIndex(
            model_name='tenanthealth',
            index=models.Index(fields=['users_active', 'tenant'], name='health_sort_users'),
        ),
        migrations.AddIndex(
            model_name='tenanthealth',
            index=models.Index(django.db.models.functions.comparison.Coalesce('last_scim_request_at', models.Value(datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC))), models.F('tenant'), name='health_sort_last_request'),
        ),
        migrations.AddIndex(
            model_name='tenanthealth',
            index=models.Index(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('webhooks_dead'), '+', models.F('webhooks_failed_24h')), '+', models.F('webhook_endpoints_failing')), models.F('tenant'), name='health_sort_webhooks'),
        ),
        migrations.RunSQL(AUDIT_APPEND_ONLY_SQL, AUDIT_APPEND_ONLY_REVERSE_SQL),
        migrations.RunPython(health_rows_for_existing_tenants, migrations.RunPython.noop),
    ]
