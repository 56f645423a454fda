# Drops three single-column indexes of procedures_application that no query uses: every
# submission writes every index under SQLite's one write lock. The blind indexes are looked up
# within a procedure (application_proc_mynumber_idx, application_proc_person_idx); name_search
# is searched with LIKE '%…%', which no B-tree index serves.
#
# Only the indexes are dropped (DROP INDEX, found by introspection): an AlterField would make
# SQLite copy the whole table, minutes for a million applications.

from django.db import migrations, models

COLUMNS = ("name_search", "mynumber_index", "person_index")
TABLE = "procedures_application"


def _single_column_indexes(schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {
        name: info["columns"][0]
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and len(info["columns"]) == 1
        and info["columns"][0] in COLUMNS
    }


def drop_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for name in _single_column_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX {quote(name)}")


def create_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    present = set(_single_column_indexes(schema_editor).values())
    for column in COLUMNS:
        if column not in present:
            name = f"{TABLE}_{column}_idx"
            schema_editor.execute(f"CREATE INDEX {quote(name)} ON {quote(TABLE)} ({quote(column)})")


class Migration(migrations.Migration):

    dependencies = [
        ('procedures', '0005_application_language'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name='application',
                    name='mynumber_index',
                    field=models.CharField(blank=True, max_length=64),
                ),
                migrations.AlterField(
                    model_name='application',
                    name='name_search',
                    field=models.CharField(blank=True, max_length=200),
                ),
                migrations.AlterField(
                    model_name='application',
                    name='person_index',
                    field=models.CharField(blank=True, max_length=64),
                ),
            ],
        ),
    ]
