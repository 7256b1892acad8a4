"""Customer-profile tasks: a diagnostic that writes on a customer's timeline."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from celery import shared_task
from django.db import OperationalError, connection

from customers import services_import_jobs
from customers.timeline import activity_record
from frontoffice.actors import MAINTENANCE
from frontoffice.request_context import current_request_id

log = logging.getLogger(__name__)


def _connection_identity() -> str:
    """Names the database session this process is using, to prove connection reuse."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pid::text || '@' || backend_start::text FROM pg_stat_activity"
                " WHERE pid = pg_backend_pid()"
            )
            return cursor.fetchone()[0]
        # SQLite has no server session; a TEMP table lives exactly as long as the
        # connection that created it, so its token identifies that connection.
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS fo_connection_probe (token TEXT)")
        cursor.execute("SELECT token FROM fo_connection_probe")
        row = cursor.fetchone()
        if row is not None:
            return row[0]
        token = uuid.uuid4().hex
        cursor.execute("INSERT INTO fo_connection_probe (token) VALUES (%s)", [token])
        return token


@shared_task(name="customers.tasks.diagnostic_probe", ignore_result=True)
def diagnostic_probe(customer_id: int, marker: str) -> None:
    """Diagnostics: notes on the customer's timeline which request, process and database
    connection ran this task (the integration tests use it). Cost: two small queries."""
    log.info("diagnostic probe %s for customer %s", marker, customer_id)
    activity_record(
        customer_id=customer_id,
        kind="diagnostic",
        subject=f"Diagnostic probe {marker}"[:200],
        actor=MAINTENANCE,
        source_app="customers",
        payload={
            "marker": marker,
            "request_id": current_request_id(),
            "pid": os.getpid(),
            "connection": _connection_identity(),
        },
    )


@shared_task(
    bind=True,
    name="customers.tasks.run_customer_import",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=10,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
    # 100,000 rows take under a minute; a file at the size limit a few.
    soft_time_limit=1800,
    time_limit=1900,
)
def run_customer_import(self: Any, import_id: int) -> str:
    """Check and write one customer import job (`services_import_jobs.customer_import_run`):
    idempotent, a duplicate or a retry after success does nothing. A lost database
    connection retries (nothing was written); any other failure marks the job failed.
    Cost: two streaming reads of the file and ~25 queries per 2,000 rows."""
    try:
        job = services_import_jobs.customer_import_run(import_id=int(import_id))
    except OperationalError:
        if self.request.retries >= self.max_retries:
            services_import_jobs.customer_import_fail(
                import_id=int(import_id), message="The database was unreachable; nothing was imported."
            )
        raise
    except Exception:
        log.exception("customer import %s failed", import_id)
        services_import_jobs.customer_import_fail(
            import_id=int(import_id), message="The import broke; nothing was imported. Tell an administrator."
        )
        raise
    return "nothing to do" if job is None else job.status


# The outbound room's tasks live with it; imported here for Celery's autodiscovery.
from customers.outbound.tasks import deliver_outbound_message, sweep_outbound_messages  # noqa: E402, F401
