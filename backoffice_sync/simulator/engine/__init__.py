"""The ERP simulator: an ERP with its own tables and clock, behind both adapters.

The `stub` adapter calls these functions in-process; `manage.py run_erp_simulator` serves
the same functions over HTTP for the `http` adapter. Both therefore behave alike, faults
included (`faults.py`).

Time only moves on `tick(hours=...)`, or on `catch_up(until=..., max_hours=...)`, which
moves it towards the wall clock and never past it (the demo's periodic tick). A tick runs in steps of at most one day (ending at
midnight, so date-based rules see every date); each step, in this order:

1. purchases due that day arrive, unless their supplier slips: each purchase, on the
   day it is due, is put back 3 to 8 days with a small chance (`SUPPLIER_SLIP_RATE`,
   `supplier_slip` in `clock.py`), and may slip again on its new date; the front office
   learns the new date from the stock.changed, and a promise made on the old one is
   missed (stock.changed);
2. received orders are confirmed, or rejected when a product was discontinued since;
   confirming reserves each line in the warehouse with the most free stock when that one
   has enough, else across the warehouses, from the most free stock down, so that a line
   the warehouses' combined free stock covers ships complete (as available-to-promise
   promised); the line's `warehouse` is the one with the most free stock (order.confirmed,
   stock.changed);
3. lines still short reserve stock that has become free, in their own warehouse when it
   has enough, else the same way across the warehouses (stock.changed);
4. orders due to ship ship what is reserved: `ERP_DISPATCH_DAYS` after the day the order
   was received, and a line that was short `ERP_DISPATCH_DAYS` after the day its stock
   was reserved (the same fulfilment times available-to-promise adds to its promise);
   one shipment with a carrier and tracking number (order.shipped, or
   order.partially_shipped when something is still missing; multi-line orders sometimes
   ship in two parcels a day apart), stock leaves (stock.changed), and the shipment is
   invoiced at the order's prices, due after the customer's payment terms
   (invoice.issued);
5. orders fully shipped `ERP_TRANSIT_DAYS` ago are delivered (order.delivered);
6. invoices are paid on their payment date: on or before the due date, or 3 to 30 days
   late for customers who pay late (payment.received);
7. an open invoice past its due date is flagged once (payment.overdue);
8. stock whose free quantity plus incoming, less unreserved demand, is below the
   product's reorder point gets a purchase, due after the product's lead time plus a
   supplier delay of 2 to 7 days (stock.changed).

Every roll of the dice hashes the seed with what is decided (`dice.py`), and every table
is walked in a fixed order: the same seed, inputs and ticks give the same events.

An order for a customer_ref the ERP does not know creates a minimal customer (just the
ref, payment terms from the dice) rather than being rejected: the outbox delivers each
aggregate in order but not across aggregates, so an order can overtake its customer's
customer.upsert; the upsert then fills the customer in. The order's
erp_customer_number, when it carries one that no other customer holds, numbers that
customer, so that the upsert arriving later names the same number. A customer.upsert for a
customer_ref the ERP does not know creates the customer too: under the
erp_customer_number it carries (numbered elsewhere: an import, the demo data), or under
the next number of the ERP's own series (C-000001, ...) when it carries none. A number
already held by another customer, or a number other than the one the ERP keeps for that
customer_ref, is rejected.

A customer.merge (the front office merged two customers, the survivor taking over the
duplicate's number) gives the survivor that number and closes the duplicate's account;
a later upsert of the closed account changes nothing.

Events (`SimEvent` rows, published as `ErpEvent`s): the id is "<aggregate>@<version>",
stable across redeliveries; `occurred_at` is on the simulator clock. The `data` of each
type, and the payload of each message, is its TypedDict in `backoffice_sync.contracts`
(`EVENT_DATA`, `PAYLOADS`), which the emitters in `change_log.py`, `fulfilment.py`,
`clock.py` and `messages.py` are typed with. Amounts are strings with two decimals;
dates are ISO strings.
"""

from __future__ import annotations

from backoffice_sync.simulator.engine.batch import deliver
from backoffice_sync.simulator.engine.clock import TickResult, catch_up, tick
from backoffice_sync.simulator.engine.edits import customer_update, product_update, stock_set
from backoffice_sync.simulator.engine.lifecycle import current_seed, now, reset
from backoffice_sync.simulator.engine.reads import (
    catalogue_products,
    daily_totals,
    events_after,
    last_seq,
    pull_changes,
    stock,
)
from backoffice_sync.simulator.engine.records import records
from backoffice_sync.simulator.engine.rules import CARRIERS, MAX_BATCH, MAX_TICK_HOURS, Rejected

__all__ = [
    "CARRIERS",
    "MAX_BATCH",
    "MAX_TICK_HOURS",
    "Rejected",
    "TickResult",
    "catalogue_products",
    "catch_up",
    "current_seed",
    "customer_update",
    "daily_totals",
    "deliver",
    "events_after",
    "last_seq",
    "now",
    "product_update",
    "pull_changes",
    "records",
    "reset",
    "stock",
    "stock_set",
    "tick",
]
