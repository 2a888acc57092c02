import django.db.models.deletion
from django.db import migrations, models

# The (organization, role) index answers every lookup by organization; the foreign key's own
# index only cost one more write per membership. Dropped by name, so the foreign key itself is
# neither dropped nor validated again (AlterField would re-add it, checking every row).
INDEX = "console_membership_organization_id_7917d8ea"


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0005_alter_membership_joined_via"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="membership",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="console.organization",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX IF NOT EXISTS {INDEX} ON console_membership (organization_id)",
                ),
            ],
        ),
    ]
