# PostgreSQL only: analyze procedures_application after 500 changed rows plus 0.1 % of the
# table (1,500 at a million applications), instead of autovacuum's default 50 rows plus 10 %.
#
# The duplicate check looks up (procedure, blind index). While a new procedure's rows are absent
# from the table's statistics, the planner estimates one row for the procedure and may read it
# through any index that starts with procedure_id, filtering every row of the procedure: at
# 1,000,000 applications the default waits for 100,000 changed rows, so a benefit opened in a
# crisis would scan up to 100,000 rows per submission before its first analyze (autovacuum looks
# at most once a minute, so ANALYZE's sample of 30,000 rows costs little). SQLite keeps no
# statistics here (no ANALYZE is run), and picks the composite index by its equality columns.

from django.db import migrations

TABLE = "procedures_application"


def analyze_sooner(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(TABLE)} SET"
            " (autovacuum_analyze_scale_factor = 0.001, autovacuum_analyze_threshold = 500)"
        )


def analyze_by_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(TABLE)} RESET"
            " (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('procedures', '0006_application_drop_unused_indexes'),
    ]

    operations = [migrations.RunPython(analyze_sooner, analyze_by_default)]
