"""A batch of messages, applied in one transaction: runs of order.submit set-based, any
other kind one by one in between, with the outcome of delivering them one at a time."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from backoffice_sync.erp import (
    DeliveryResult,
    DeliveryStatus,
    ErpBadRequest,
    ErpUnavailable,
    MessageKind,
    OutboundMessage,
)
from backoffice_sync.simulator import faults
from backoffice_sync.simulator.engine.accounts import new_customer
from backoffice_sync.simulator.engine.change_log import customer_event
from backoffice_sync.simulator.engine.checks import check_active
from backoffice_sync.simulator.engine.lifecycle import current_seed, lock_state
from backoffice_sync.simulator.engine.messages import (
    Submit,
    already_submitted,
    answer,
    bad_key,
    deliver_one,
    new_lines,
    new_order,
    parse_submit,
    submitted,
    valid_key,
)
from backoffice_sync.simulator.engine.rules import MAX_BATCH, Rejected
from backoffice_sync.simulator.engine.statistics import refresh_statistics
from backoffice_sync.simulator.models import (
    SimCustomer,
    SimDelivery,
    SimEvent,
    SimOrder,
    SimOrderLine,
    SimProduct,
    SimState,
)

# A batch is applied in runs: consecutive order.submit messages (what the relay mostly
# sends) set-based, any other kind one by one in between, so that every message sees
# what the ones before it did, as if the batch were delivered a message at a time.

_IN_CHUNK = 500  # values per `IN (...)`: SQLite allows 999 parameters a query
_LINES_PER_INSERT = 2000


def is_submit(message: OutboundMessage) -> bool:
    return isinstance(message.kind, str) and message.kind == MessageKind.ORDER_SUBMIT


def chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _IN_CHUNK):
        yield ordered[start : start + _IN_CHUNK]


@dataclass
class ReadAhead:
    """What a run of order.submit messages needs from before it, read without the state
    lock (`read_ahead`): each message parsed, the earlier answers of its keys and the
    ERP numbers of the orders it names.

    Only what stays true once read: an answer and an order, once made, never change nor
    go (but for a reset, which `deliver` checks for). What was not there yet may be by
    the time the lock is held; the unique keys and order refs then stop the run, and it
    is redone one message at a time (`_deliver_submits`)."""

    parsed: list[Submit | Rejected | None]  # None: a malformed key (no row, no answer kept)
    deliveries: dict[str, SimDelivery]
    orders: dict[str, str]  # order_ref -> ERP order number


def read_ahead(messages: Sequence[OutboundMessage]) -> ReadAhead:
    # 1. What needs no database: keys and payload shapes.
    parsed: list[Submit | Rejected | None] = []
    for message in messages:
        if not valid_key(message.idempotency_key):
            parsed.append(None)
        elif not isinstance(message.payload, dict):
            parsed.append(Rejected("payload must be an object"))
        else:
            try:
                parsed.append(parse_submit(message.payload))
            except Rejected as exc:
                parsed.append(exc)
    # 2. Its keys' earlier answers, and the orders named by the messages not answered yet.
    keys = [m.idempotency_key for m, entry in zip(messages, parsed, strict=True) if entry is not None]
    deliveries: dict[str, SimDelivery] = {}
    for chunk in chunks(keys):
        deliveries.update(
            (row.idempotency_key, row) for row in SimDelivery.objects.filter(idempotency_key__in=chunk)
        )
    refs = [
        entry.order_ref
        for message, entry in zip(messages, parsed, strict=True)
        if isinstance(entry, Submit) and message.idempotency_key not in deliveries
    ]
    orders: dict[str, str] = {}
    for chunk in chunks(refs):
        orders.update(SimOrder.objects.filter(order_ref__in=chunk).values_list("order_ref", "number"))
    return ReadAhead(parsed, deliveries, orders)


def _deliver_submits(
    state: SimState, messages: Sequence[OutboundMessage], ahead: ReadAhead | None = None
) -> list[DeliveryResult]:
    """A run of order.submit messages in a constant number of queries (`_apply_submits`).

    Same results, rows, numbers and events as `deliver_one` per message. Should a key
    or an order_ref be taken by someone else meanwhile (a read made before the state lock
    may not see it; the unique constraints guarantee it), the run is redone one message
    at a time, which answers such a key as `deliver_one` always has.
    """
    if not connection.features.can_return_rows_from_bulk_insert:
        return [deliver_one(state, message) for message in messages]
    counters = dict(state.counters)
    try:
        with transaction.atomic():
            return _apply_submits(state, messages, ahead or read_ahead(messages))
    except IntegrityError:
        state.counters = counters
        return [deliver_one(state, message) for message in messages]


def _apply_submits(
    state: SimState, messages: Sequence[OutboundMessage], ahead: ReadAhead
) -> list[DeliveryResult]:
    # 1. What was read ahead: the parsed messages, their keys' earlier answers, the orders.
    parsed, deliveries, orders = ahead.parsed, dict(ahead.deliveries), dict(ahead.orders)

    # 2. Read, under the lock, what may change: for the messages that will be applied or
    # checked, the products and customers they name.
    fresh: list[Submit] = []
    seen_keys: set[str] = set()
    for message, entry in zip(messages, parsed, strict=True):
        key = message.idempotency_key
        if isinstance(entry, Submit) and key not in deliveries and key not in seen_keys:
            fresh.append(entry)
        if entry is not None:
            seen_keys.add(key)
    products: dict[str, SimProduct] = {}
    for chunk in chunks(sku for submit in fresh for sku in submit.skus):
        products.update((p.sku, p) for p in SimProduct.objects.filter(sku__in=chunk))
    customers: dict[str, SimCustomer] = {}
    for chunk in chunks(submit.customer_ref for submit in fresh):
        customers.update(
            (c.customer_ref, c)
            for c in SimCustomer.objects.select_for_update().filter(customer_ref__in=chunk)
        )
    numbers_held: set[str] = set()  # numbers a customer already holds, or takes in this run
    for chunk in chunks(submit.erp_customer_number for submit in fresh if submit.erp_customer_number):
        numbers_held.update(SimCustomer.objects.filter(number__in=chunk).values_list("number", flat=True))

    # 3. Decide each message in order, as `deliver_one` would, on the rows read and
    # those the run has made so far.
    results: list[DeliveryResult] = []
    new_deliveries: list[SimDelivery] = []
    new_customers: list[SimCustomer] = []
    new_events: list[SimEvent] = []
    new_orders: list[SimOrder] = []
    new_order_lines: list[SimOrderLine] = []
    for message, entry in zip(messages, parsed, strict=True):
        key = message.idempotency_key
        if entry is None:
            results.append(bad_key(key))
            continue
        row = deliveries.get(key)
        if row is not None:
            results.append(answer(row, again=True))
            continue
        row = SimDelivery(
            idempotency_key=key, kind=str(message.kind)[:40], aggregate=str(message.aggregate)[:200]
        )
        deliveries[key] = row
        new_deliveries.append(row)
        try:
            if isinstance(entry, Rejected):
                raise entry
            if entry.order_ref in orders:
                raise already_submitted(entry.order_ref, orders[entry.order_ref])
            check_active(entry.skus, products)
        except Rejected as exc:
            row.status, row.error, row.data = DeliveryStatus.REJECTED, str(exc), {}
            results.append(answer(row, again=False))
            continue
        customer = customers.get(entry.customer_ref)
        if customer is None:
            number = "" if entry.erp_customer_number in numbers_held else entry.erp_customer_number
            customer = customers[entry.customer_ref] = new_customer(state, entry.customer_ref, number=number)
            numbers_held.add(customer.number)
            customer.version = 1
            new_customers.append(customer)
            new_events.append(customer_event(state, customer))
        order = new_order(state, entry, customer)
        orders[order.order_ref] = order.number
        new_orders.append(order)
        new_order_lines.extend(new_lines(order, entry, products))
        row.status, row.data = DeliveryStatus.ACCEPTED, submitted(order)
        results.append(answer(row, again=False))

    # 4. Write it all, each table in message order (so ids and sequence numbers come
    # out as they would one message at a time).
    SimCustomer.objects.bulk_create(new_customers)
    SimEvent.objects.bulk_create(new_events)
    SimOrder.objects.bulk_create(new_orders)
    SimOrderLine.objects.bulk_create(new_order_lines, batch_size=_LINES_PER_INSERT)
    SimDelivery.objects.bulk_create(new_deliveries)
    return results


def deliver(messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
    """Apply a batch in one transaction; one result per message, in order.

    Runs of consecutive order.submit messages are applied set-based (a constant number
    of queries per run, `_deliver_submits`), other kinds one at a time in between: the
    outcome is that of delivering the messages one after the other. The batch's leading
    run (a relay's whole batch, as a rule) is read before the state lock is taken
    (`read_ahead`), so that concurrent callers hold it for less time.

    Raises ErpUnavailable on an outage or an injected error, before applying anything
    or, for about half of the injected errors, after committing the batch.
    """
    messages = list(messages)
    if len(messages) > MAX_BATCH:
        raise ErpBadRequest(f"at most {MAX_BATCH} messages per batch")
    seen = SimState.objects.filter(pk=1).values_list("seed", "created_at").first()
    plan = faults.plan_call(
        seed=current_seed() if seen is None else seen[0], operation="deliver", applies=True
    )
    leading = list(itertools.takewhile(is_submit, messages))
    ahead = read_ahead(leading) if leading and seen is not None else None
    with transaction.atomic():
        state = lock_state()
        if seen is None or state.created_at != seen[1]:
            ahead = None  # the ERP was reset meanwhile: what was read ahead is gone
        results = _deliver_submits(state, leading, ahead) if leading else []
        run: list[OutboundMessage] = []
        for message in messages[len(leading) :]:
            if is_submit(message):
                run.append(message)
                continue
            if run:
                results.extend(_deliver_submits(state, run))
                run = []
            results.append(deliver_one(state, message))
        if run:
            results.extend(_deliver_submits(state, run))
        state.save(update_fields=["counters", "updated_at"])
    # Committed: a table that grew from empty is planned with its size from now on.
    refresh_statistics()
    if plan.fail_after_apply:
        raise ErpUnavailable("ERP simulator: injected error after the batch was applied (answer lost)")
    return results
