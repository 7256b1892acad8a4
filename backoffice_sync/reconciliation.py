"""Reconciliation record by record: each order, invoice and payment of a window, as the
mirror holds it, compared with the ERP's record through the adapter (status, promised
and actual dates, lines and amounts, what is still open); each difference stored with
what both sides said (`Drift`), and repaired by re-pulling the record from the ERP (the
ERP is the source of truth for back-office facts), noted on the customer's timeline.

What it finds that events alone cannot: a lost event (the mirror is behind, or misses
the record), a wrong date or amount (a bug, a hand edit), a record the ERP never had.

`reconciliation_run` is the one entry point: the `reconcile_erp` task on its schedule,
the monitor's button and `POST /api/v1/sync/reconciliations/` on demand. ERP calls run
outside any transaction; each record's drift rows and repair commit together.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from backoffice_sync.apply.records import REPULL
from backoffice_sync.apply.rules import Rejected
from backoffice_sync.circuit import circuit_answered
from backoffice_sync.erp import ErpAdapter, ErpError, RecordKind, get_adapter
from backoffice_sync.models import (
    Drift,
    DriftKind,
    ErpOrder,
    ErpOrderStatusChange,
    Invoice,
    Payment,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
)
from customers.models import Customer
from frontoffice.write_path import authorize

log = logging.getLogger(__name__)

RUN_PERMISSION = "backoffice_sync.add_reconciliationrun"
WINDOW_DAYS = 14
MAX_WINDOW_DAYS = 366
# A difference: (kind, field, what the mirror says, what the ERP says).
Difference = tuple[str, str, str, str]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _money(text: Any) -> str:
    return f"{Decimal(text):.2f}" if text not in (None, "") else ""


def _diff(out: list[Difference], kind: str, field: str, mirror: Any, erp: Any) -> None:
    if _text(mirror) != _text(erp):
        out.append((kind, field, _text(mirror), _text(erp)))


# --- comparing ---------------------------------------------------------------------------


def _one_side(here: str | None, there: str | None) -> list[Difference]:
    """A record only one side has: missing here (a lost event) or unknown to the ERP."""
    if here is None:
        return [] if there is None else [(DriftKind.MISSING, "", "", there)]
    return [(DriftKind.EXTRA, "", here, "")]


def _amount_here(row: Invoice | Payment) -> str:
    return f"{row.amount:.2f} {row.currency}"


def _amount_erp(record: dict[str, Any]) -> str:
    return f"{_money(record['amount'])} {record['currency']}"


def compare_order(mirror: ErpOrder | None, erp: dict[str, Any] | None) -> list[Difference]:
    if mirror is None or erp is None:
        return _one_side(
            mirror.status if mirror is not None else None, erp["status"] if erp is not None else None
        )
    out: list[Difference] = []
    _diff(out, DriftKind.STATUS, "status", mirror.status, erp["status"])
    _diff(out, DriftKind.STATUS, "erp_order_number", mirror.erp_order_number, erp.get("erp_order_number"))
    _diff(out, DriftKind.DATE, "delivered_on", mirror.delivered_on, erp.get("delivered_on"))
    _diff(out, DriftKind.PROMISED, "promised_on", mirror.promised_on, erp.get("promised_on"))
    lines_here = [
        f"{x.sku} x{x.quantity} shipped {x.shipped} at {_text(x.unit_price)}" for x in mirror.lines.all()
    ]
    lines_erp = [
        f"{x['sku']} x{x['quantity']} shipped {x.get('shipped') or 0} at {_money(x.get('unit_price'))}"
        for x in erp.get("lines") or []
    ]
    _diff(out, DriftKind.LINES, "lines", "; ".join(lines_here), "; ".join(lines_erp))
    shipments_here = {s.number: s for s in mirror.shipments.all()}
    shipments_erp = {s["shipment_number"]: s for s in erp.get("shipments") or []}
    _diff(
        out,
        DriftKind.SHIPMENTS,
        "shipments",
        ", ".join(sorted(shipments_here)),
        ", ".join(sorted(shipments_erp)),
    )
    for number in sorted(set(shipments_here) & set(shipments_erp)):
        here, there = shipments_here[number], shipments_erp[number]
        _diff(out, DriftKind.DATE, f"{number}.shipped_on", here.shipped_on, there.get("shipped_on"))
        _diff(out, DriftKind.DATE, f"{number}.delivered_on", here.delivered_on, erp.get("delivered_on"))
        _diff(
            out,
            DriftKind.SHIPMENTS,
            f"{number}.tracking_number",
            here.tracking_number,
            there.get("tracking_number"),
        )
    return out


def compare_invoice(mirror: Invoice | None, erp: dict[str, Any] | None) -> list[Difference]:
    if mirror is None or erp is None:
        return _one_side(
            _amount_here(mirror) if mirror is not None else None,
            _amount_erp(erp) if erp is not None else None,
        )
    out: list[Difference] = []
    _diff(
        out,
        DriftKind.AMOUNT,
        "amount",
        _amount_here(mirror),
        _amount_erp(erp),
    )
    _diff(out, DriftKind.DATE, "issued_on", mirror.issued_on, erp["issued_on"])
    _diff(out, DriftKind.DATE, "due_on", mirror.due_on, erp["due_on"])
    _diff(out, DriftKind.STATUS, "status", mirror.status, erp["status"])
    _diff(out, DriftKind.AMOUNT, "amount_paid", mirror.amount_paid, _money(erp["amount_paid"]))
    _diff(out, DriftKind.AMOUNT, "amount_credited", mirror.amount_credited, _money(erp["amount_credited"]))
    _diff(out, DriftKind.BALANCE, "amount_open", mirror.amount_open, _money(erp["amount_open"]))
    return out


def compare_payment(mirror: Payment | None, erp: dict[str, Any] | None) -> list[Difference]:
    if mirror is None or erp is None:
        return _one_side(
            _amount_here(mirror) if mirror is not None else None,
            _amount_erp(erp) if erp is not None else None,
        )
    out: list[Difference] = []
    _diff(
        out,
        DriftKind.AMOUNT,
        "amount",
        _amount_here(mirror),
        _amount_erp(erp),
    )
    _diff(out, DriftKind.DATE, "received_on", mirror.received_on, erp["received_on"])
    _diff(out, DriftKind.STATUS, "invoice_number", mirror.invoice_number, erp["invoice_number"])
    return out


# --- what the mirror holds in a window -------------------------------------------------


def _day_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
    return start, dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


def _mirror_orders(refs: Iterable[str], since: dt.date, until: dt.date) -> dict[str, ErpOrder]:
    """The orders the ERP named, and those first reported in the window (3 queries)."""
    start, end = _day_bounds(since, until)
    in_window = (
        ErpOrderStatusChange.objects.values("order_id")
        .annotate(first=Min("occurred_at"))
        .filter(first__gte=start, first__lt=end)
        .values("order_id")
    )
    rows = ErpOrder.objects.filter(Q(order_ref__in=list(refs)) | Q(pk__in=in_window)).prefetch_related(
        "lines", "shipments"
    )
    return {order.order_ref: order for order in rows}


def _mirror_invoices(refs: Iterable[str], since: dt.date, until: dt.date) -> dict[str, Invoice]:
    rows = Invoice.objects.filter(Q(number__in=list(refs)) | Q(issued_on__range=(since, until)))
    return {invoice.number: invoice for invoice in rows}


def _mirror_payments(refs: Iterable[str], since: dt.date, until: dt.date) -> dict[str, Payment]:
    rows = Payment.objects.filter(Q(reference__in=list(refs)) | Q(received_on__range=(since, until)))
    return {payment.reference: payment for payment in rows}


KINDS: list[tuple[RecordKind, Callable[..., dict[str, Any]], Callable[..., list[Difference]], str]] = [
    (RecordKind.ORDER, _mirror_orders, compare_order, "order_ref"),
    # Payments before invoices: an invoice's repair then writes the ERP's totals last.
    (RecordKind.PAYMENT, _mirror_payments, compare_payment, "reference"),
    (RecordKind.INVOICE, _mirror_invoices, compare_invoice, "number"),
]


# --- reads -------------------------------------------------------------------------------

DRIFTS_SHOWN = 100


def latest_reconciliation() -> dict[str, Any] | None:
    """The latest run and its first DRIFTS_SHOWN differences, for the monitor (2 queries)."""
    run = ReconciliationRun.objects.order_by("-started_at", "-id").first()
    if run is None:
        return None
    drifts = list(run.drifts.order_by("record_type", "record_ref", "id")[:DRIFTS_SHOWN])
    return {"run": run, "drifts": drifts, "more": max(run.found - len(drifts), 0)}


# --- the run -----------------------------------------------------------------------------


def default_until() -> dt.date:
    """Today, or the latest day the mirrors know if the ERP's clock runs ahead (the demo)."""
    latest = Invoice.objects.aggregate(latest=Max("issued_on"))["latest"]
    return max(filter(None, [latest, timezone.now().astimezone(dt.UTC).date()]))


def _customer_of(mirror: Any, record: dict[str, Any] | None) -> int | None:
    if mirror is not None:
        return int(mirror.customer_id)
    ref = str((record or {}).get("customer_ref") or "")
    if ref.isascii() and ref.isdigit() and Customer.objects.filter(pk=int(ref)).exists():
        return int(ref)
    return None


def reconciliation_run(
    *,
    actor: Any,
    days: int = WINDOW_DAYS,
    until: dt.date | None = None,
    repair: bool = True,
    trigger: str = RunTrigger.ON_DEMAND,
    adapter: ErpAdapter | None = None,
) -> ReconciliationRun:
    """Compare the mirrors' orders, invoices and payments of the `days` days up to
    `until` with the ERP; store each difference; with `repair`, re-pull each drifting
    record from the ERP. Returns the run (failed, with the error, when the ERP could not
    answer: the next run tries again). Cost: 3 ERP reads for the window, up to 3 more for
    records only one side has, 3 to re-pull what drifted; a few queries per drifting record."""
    authorize(actor, RUN_PERMISSION)
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_WINDOW_DAYS}")
    adapter = adapter or get_adapter()
    until = until or default_until()
    since = until - dt.timedelta(days=days - 1)
    run = ReconciliationRun.objects.create(
        trigger=trigger,
        requested_by=actor if getattr(actor, "is_system", False) is False and actor.pk else None,
        since=since,
        until=until,
        repair=repair,
        started_at=timezone.now(),
    )
    try:
        drifting = _compare_all(run, adapter)
        if repair:
            _repair_all(run, adapter, drifting)
    except ErpError as exc:
        run.status = RunStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("reconciliation %s: the ERP could not answer: %s", run.pk, exc)
    else:
        run.status = RunStatus.DONE
        circuit_answered()  # the ERP answered every read: reachable, whatever the outbox holds
    run.found = run.drifts.count()
    run.repaired = run.drifts.filter(repaired=True).count()
    run.finished_at = timezone.now()
    run.save()
    if run.found:
        log.warning(
            "reconciliation %s: %s differences with the ERP, %s repaired", run.pk, run.found, run.repaired
        )
    return run


def _compare_all(run: ReconciliationRun, adapter: ErpAdapter) -> dict[RecordKind, list[str]]:
    """Store the differences of every record; returns the drifting refs per kind."""
    drifting: dict[RecordKind, list[str]] = {}
    checked = 0
    for kind, mirror_of, compare, key in KINDS:
        erp = {r[key]: r for r in adapter.records(kind, since=run.since, until=run.until)}
        mirror = mirror_of(erp, run.since, run.until)
        # Known here only: maybe dated elsewhere at the ERP; ask for them by ref.
        only_here = sorted(set(mirror) - set(erp))
        if only_here:
            erp.update({r[key]: r for r in adapter.records(kind, refs=only_here)})
        rows = []
        for ref in sorted(set(erp) | set(mirror)):
            checked += 1
            differences = compare(mirror.get(ref), erp.get(ref))
            if not differences:
                continue
            drifting.setdefault(kind, []).append(ref)
            customer_id = _customer_of(mirror.get(ref), erp.get(ref))
            rows += [
                Drift(
                    run=run,
                    kind=drift_kind,
                    record_type=kind.value,
                    record_ref=ref,
                    field=field,
                    mirror_value=here[:2000],
                    erp_value=there[:2000],
                    customer_id=customer_id,
                )
                for drift_kind, field, here, there in differences
            ]
        Drift.objects.bulk_create(rows)
    run.records_checked = checked
    return drifting


def _repair_all(run: ReconciliationRun, adapter: ErpAdapter, drifting: dict[RecordKind, list[str]]) -> None:
    """Re-pull each drifting record (read again now: it may have moved on since the
    comparison) and rewrite the mirror, one transaction per record."""
    for kind, _, _, key in KINDS:
        refs = drifting.get(kind, [])
        if not refs:
            continue
        fresh = {r[key]: r for r in adapter.records(kind, refs=refs)}
        for ref in refs:
            try:
                with transaction.atomic():
                    REPULL[kind.value](ref, fresh.get(ref))
                    Drift.objects.filter(run=run, record_type=kind.value, record_ref=ref).update(
                        repaired=True, repaired_at=timezone.now()
                    )
            except (Rejected, KeyError, ValueError, TypeError) as exc:
                Drift.objects.filter(run=run, record_type=kind.value, record_ref=ref).update(
                    repair_error=f"{type(exc).__name__}: {exc}"[:2000]
                )
