"""Room on each page of domains_domain (PostgreSQL) for a claim's new row version.

A claim writes only the lease columns, which no index holds, so PostgreSQL can update the row
in place (a HOT update) when its page has room; on full pages every claim wrote a new entry
in each of the table's indexes. Pages already full gain room as vacuum frees dead versions.
"""

from django.db import migrations

FILLFACTOR = 70


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE domains_domain SET (fillfactor = {FILLFACTOR})")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE domains_domain RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("domains", "0003_check_tally")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
