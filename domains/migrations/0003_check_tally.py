"""CheckTally and the triggers that keep it, seeded from the checks already recorded."""

from django.db import migrations, models

TALLY_SHARDS = 8

POSTGRES_FORWARD = [
    f"""CREATE FUNCTION domains_checktally_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO domains_checktally (outcome, shard, total)
        SELECT outcome, mod(pg_backend_pid(), {TALLY_SHARDS}), COUNT(*) FROM new_checks GROUP BY outcome
        ON CONFLICT (outcome, shard) DO UPDATE SET total = domains_checktally.total + EXCLUDED.total;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER domains_checktally_count AFTER INSERT ON domains_domaincheck
        REFERENCING NEW TABLE AS new_checks FOR EACH STATEMENT EXECUTE FUNCTION domains_checktally_count()""",
    """INSERT INTO domains_checktally (outcome, shard, total)
        SELECT outcome, 0, COUNT(*) FROM domains_domaincheck GROUP BY outcome""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS domains_checktally_count ON domains_domaincheck",
    "DROP FUNCTION IF EXISTS domains_checktally_count()",
]
SQLITE_FORWARD = [
    """CREATE TRIGGER domains_checktally_count AFTER INSERT ON domains_domaincheck BEGIN
        INSERT INTO domains_checktally (outcome, shard, total) VALUES (NEW.outcome, 0, 1)
        ON CONFLICT (outcome, shard) DO UPDATE SET total = total + 1;
    END""",
    """INSERT INTO domains_checktally (outcome, shard, total)
        SELECT outcome, 0, COUNT(*) FROM domains_domaincheck GROUP BY outcome""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS domains_checktally_count"]


def forward(apps, schema_editor):
    statements = POSTGRES_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for statement in statements:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    statements = POSTGRES_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("domains", "0002_auto_add_off_until_decided"),
    ]

    operations = [
        migrations.CreateModel(
            name="CheckTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("outcome", models.CharField(max_length=20)),
                ("shard", models.PositiveSmallIntegerField(default=0)),
                ("total", models.PositiveBigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("outcome", "shard"), name="checktally_one_row_per_shard")
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
