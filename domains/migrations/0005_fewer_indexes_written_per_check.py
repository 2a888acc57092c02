"""Fewer index entries written by each check.

A check changes next_check_at, which is indexed, so its UPDATE of domains_domain writes an entry
in every index of the table. Three were `varchar_pattern_ops` twins (for LIKE queries) that
Django adds beside db_index/unique CharFields and nothing queries: dropped. The plain name and
status indexes and the token's unique constraint stay under their existing names (state only).
Each check's DomainCheck row no longer gets an entry in an index of domain_id alone, which
(domain, -checked_at) already serves, nor in one of triggered_by, which is now partial: only
an admin's checks name a user.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import domains.models

LIKE_INDEXES = (
    "domains_domain_name_88dbb428_like",
    "domains_domain_status_59b2b744_like",
    "domains_domain_token_5d0aeab1_like",
)


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE_INDEXES:
            column = name.split("_")[2]
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
                f"ON domains_domain ({column} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0005_alter_membership_joined_via"),
        ("domains", "0004_domain_fillfactor"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="domain", name="name", field=models.CharField(max_length=253)),
                migrations.AlterField(
                    model_name="domain",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("pending", "Pending verification"),
                            ("verified", "Verified"),
                            ("revalidation_required", "Re-validation required"),
                            ("removed", "Removed"),
                        ],
                        default="pending",
                        max_length=30,
                    ),
                ),
                migrations.AlterField(
                    model_name="domain",
                    name="token",
                    field=models.CharField(default=domains.models.new_token, max_length=64),
                ),
                migrations.AddIndex(
                    model_name="domain", index=models.Index(fields=["name"], name="domains_domain_name_88dbb428")
                ),
                migrations.AddIndex(
                    model_name="domain", index=models.Index(fields=["status"], name="domains_domain_status_59b2b744")
                ),
                migrations.AddConstraint(
                    model_name="domain",
                    constraint=models.UniqueConstraint(fields=("token",), name="domains_domain_token_key"),
                ),
            ],
            database_operations=[migrations.RunPython(drop_like_indexes, create_like_indexes, elidable=False)],
        ),
        migrations.AlterField(
            model_name="domaincheck",
            name="domain",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="checks",
                to="domains.domain",
            ),
        ),
        migrations.AlterField(
            model_name="domaincheck",
            name="triggered_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="domaincheck",
            index=models.Index(
                condition=models.Q(("triggered_by__isnull", False)),
                fields=["triggered_by"],
                name="domaincheck_triggered_by",
            ),
        ),
    ]
