"""PostgreSQL only: a snapshot's ids (`bigint[]`) are stored out of line uncompressed.

Measured on the benchmark's 366,667 ids (a loaded machine): storing them took 106-270 ms
compressed with pglz (the default), 31-103 ms with lz4, 31-48 ms uncompressed; and each
sending batch, which slices the array, decompresses all of it again. Uncompressed, the
array takes 8 bytes an id (2.9 MB for 366,667 customers, 1.2 MB with pglz).
"""

from __future__ import annotations

from django.db import migrations

TABLE = "marketing_campaignaudience"


def _storage(kind: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN customer_ids SET STORAGE {kind}")

    return run


class Migration(migrations.Migration):
    dependencies = [("marketing", "0005_campaign_launch_problem")]

    operations = [migrations.RunPython(_storage("EXTERNAL"), _storage("EXTENDED"), elidable=False)]
