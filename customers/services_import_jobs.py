"""Customer import jobs: a CSV file kept with who sent it, checked and written by a
worker (`customers.tasks.run_customer_import`), or within the request when it is small.

A job goes queued -> running -> done | refused | failed. The worker claims it with a
conditional UPDATE (queued -> running, visible to the page polling it), then locks the
row (`SELECT ... FOR UPDATE SKIP LOCKED`) for the whole import, whose customers commit
in the same transaction as `status=done`: a task delivered twice, or retried after a
crash, finds the job locked by the other run or over, and does nothing. A crash before
the commit writes nothing, and the retry imports the file once.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from customers.choices import ImportStatus
from customers.import_rows import ADD_CUSTOMER, IMPORT_CUSTOMERS, MAX_FILE_BYTES, CustomerImportRefused
from customers.models import CustomerImport
from customers.services_import import customer_import
from frontoffice.actors import Actor, user_of
from frontoffice.csv_import import RowIssue
from frontoffice.errors import Conflict
from frontoffice.write_path import authorize, enqueue_on_commit

# Files up to this size are imported within the request (a few seconds at most); larger
# ones by a worker, the page following its progress.
INLINE_MAX_BYTES = 512 * 1024
PROGRESS_TTL = 3600


def progress_key(import_id: int) -> str:
    return f"customers:import:{import_id}:progress"


def import_progress(import_id: int) -> dict[str, Any] | None:
    """The running import's phase ("checking", "writing") and rows so far, if any."""
    value = cache.get(progress_key(import_id))
    return value if isinstance(value, dict) else None


@transaction.atomic
def customer_import_submit(
    *, actor: Actor, file: Any, filename: str, dry_run: bool = False, inline: bool | None = None
) -> CustomerImport:
    """Keep the file as a job and import it: now when small (`inline` None) or asked
    (`inline=True`), else by a worker once this transaction commits."""
    authorize(actor, ADD_CUSTOMER, IMPORT_CUSTOMERS, message="You may not import customers.")
    size = int(getattr(file, "size", 0) or 0)
    if size > MAX_FILE_BYTES:
        raise Conflict(f"At most {MAX_FILE_BYTES // (1024 * 1024)} MB: split the file into smaller ones.")
    job = CustomerImport(created_by=user_of(actor), filename=filename[:255], size=size, dry_run=dry_run)
    job.file.save("import.csv", file, save=False)
    job.save()
    return _dispatch(job, inline=size <= INLINE_MAX_BYTES if inline is None else inline)


@transaction.atomic
def customer_import_confirm(*, actor: Actor, import_id: int) -> CustomerImport:
    """Import for real the file a finished dry run (a preview the actor made) checked."""
    authorize(actor, ADD_CUSTOMER, IMPORT_CUSTOMERS, message="You may not import customers.")
    preview = CustomerImport.objects.filter(
        pk=import_id, created_by=user_of(actor), dry_run=True, status=ImportStatus.DONE
    ).first()
    if preview is None:
        raise Conflict("There is no finished preview of yours with this number: upload the file again.")
    job = CustomerImport.objects.create(
        created_by=preview.created_by, file=preview.file.name, filename=preview.filename, size=preview.size
    )
    return _dispatch(job, inline=preview.size <= INLINE_MAX_BYTES)


def _dispatch(job: CustomerImport, *, inline: bool) -> CustomerImport:
    from customers.tasks import run_customer_import

    if inline:
        customer_import_run(import_id=job.pk)
        job.refresh_from_db()
    else:
        enqueue_on_commit(run_customer_import, job.pk)
    return job


def customer_import_run(*, import_id: int) -> CustomerImport | None:
    """Run a queued job (see the module's docstring); None when there is nothing to do:
    the job is gone, over, or being run by another worker."""
    CustomerImport.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now(), updated_at=timezone.now()
    )
    with transaction.atomic():
        job = (
            CustomerImport.objects.select_for_update(skip_locked=True)
            .filter(pk=import_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING])
            .first()
        )
        if job is None:
            return None

        def progress(phase: str, rows: int) -> None:
            cache.set(progress_key(job.pk), {"phase": phase, "rows": rows}, PROGRESS_TTL)

        actor = job.created_by
        if actor is None:
            problem = RowIssue(None, "", "The user who sent the file no longer exists.")
            _finish(job, ImportStatus.REFUSED, {"error_count": 1, "row_errors": [problem.as_dict()]})
            return job
        try:
            with job.file.open("rb") as file:
                report = customer_import(actor=actor, file=file, dry_run=job.dry_run, progress=progress)
        except CustomerImportRefused as exc:
            _finish(job, ImportStatus.REFUSED, exc.report.as_dict())
        except (PermissionDenied, Conflict) as exc:
            problem = RowIssue(None, "", str(exc) if str(exc) else "You may not create customers.")
            _finish(job, ImportStatus.REFUSED, {"error_count": 1, "row_errors": [problem.as_dict()]})
        else:
            _finish(job, ImportStatus.DONE, report.as_dict())
    cache.delete(progress_key(job.pk))
    return job


def customer_import_fail(*, import_id: int, message: str) -> None:
    """Mark a job that broke (after its retries) as failed; nothing of it was written."""
    problem = RowIssue(None, "", message[:500])
    with transaction.atomic():
        job = CustomerImport.objects.select_for_update().filter(pk=import_id).first()
        if job is not None and not job.is_over:
            _finish(job, ImportStatus.FAILED, {"error_count": 1, "row_errors": [problem.as_dict()]})


def _finish(job: CustomerImport, status: str, report: dict[str, Any]) -> None:
    job.status = status
    job.report = report
    job.rows = report.get("rows", 0)
    job.created_count = report.get("created", 0) if status == ImportStatus.DONE else 0
    job.skipped_count = report.get("skipped", 0)
    job.error_count = report.get("error_count", 0)
    job.finished_at = timezone.now()
    job.save()
