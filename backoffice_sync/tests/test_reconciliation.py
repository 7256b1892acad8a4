"""Reconciliation record by record, against the running simulator (the stub adapter):
every kind of drift injected (a lost event, a wrong date, a wrong promised date, a
wrong amount, a missing order, an extra order) is found, stored with both sides' values, and repaired by
re-pulling from the ERP; a second run then finds nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from backoffice_sync import inbox
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.circuit import circuit_status, circuit_unavailable
from backoffice_sync.erp import RecordKind
from backoffice_sync.inbox import inbox_apply, inbox_receive
from backoffice_sync.models import (
    CircuitState,
    Drift,
    DriftKind,
    ErpOrder,
    InboxVia,
    Invoice,
    OutboxMessage,
    Payment,
    ReconciliationRun,
    RunStatus,
)
from backoffice_sync.reconciliation import reconciliation_run
from backoffice_sync.simulator import engine, faults
from backoffice_sync.tests.inbox_helpers import a_customer
from customers.models import Activity, Customer
from frontoffice.actors import SCHEDULER

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
REFS = ["FO-1", "FO-2", "FO-3", "FO-4"]
PROMISED = {"FO-2": (START + dt.timedelta(days=10)).date()}  # the others asked for no date


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch) -> StubAdapter:
    adapter = StubAdapter()
    adapter.reset(seed=7, start=START)
    monkeypatch.setattr(inbox, "get_adapter", lambda: adapter)
    return adapter


def orders_lived_through(erp: StubAdapter, customer: Customer) -> None:
    """Four orders placed, then 75 days: shipped, delivered, invoiced, paid late."""
    engine.stock_set(sku="FO-1001", warehouse="AMS", on_hand=100)
    engine.customer_update(customer_ref=str(customer.pk), payment_terms_days=30, pays_late=True)
    for n, ref in enumerate(REFS, start=1):
        erp.push_order(
            idempotency_key=f"order-{ref}",
            order={
                "order_ref": ref,
                "customer_ref": str(customer.pk),
                "currency": "EUR",
                "requested_date": PROMISED[ref].isoformat() if ref in PROMISED else None,
                "lines": [{"line_no": 1, "sku": "FO-1001", "quantity": n, "unit_price": "12.50"}],
                "ship_to": None,
            },
        )
    erp.tick(24 * 75)


def mirror_all_but(lost: set[str]) -> None:
    """The ERP's events reach the front office, except the `lost` ones (by event id)."""
    for _, event in engine.events_after(seq=0, limit=100_000):
        if event.id in lost:
            continue
        row, _ = inbox_receive(event=event, via=InboxVia.WEBHOOK)
        inbox_apply(inbox_event_id=row.pk)


def invoice_of(erp: StubAdapter, order_ref: str) -> dict:
    return next(
        r
        for r in erp.records(RecordKind.INVOICE, since=START.date(), until=erp.clock().date())
        if r["order_ref"] == order_ref
    )


def test_each_kind_of_drift_is_found_and_repaired(erp: StubAdapter) -> None:
    # given: a running system whose mirror drifted from the ERP in every way
    customer = a_customer()
    orders_lived_through(erp, customer)
    delivered_fo1 = f"order:FO-1@{erp.records(RecordKind.ORDER, refs=['FO-1'])[0]['version']}"
    fo2_invoice = invoice_of(erp, "FO-2")
    paid_fo2 = f"invoice:{fo2_invoice['number']}@{fo2_invoice['version']}"
    mirror_all_but({delivered_fo1, paid_fo2})  # lost events: a delivery, a payment
    fo3 = ErpOrder.objects.get(order_ref="FO-3")
    right_date = fo3.delivered_on
    fo3.shipments.update(delivered_on=right_date + dt.timedelta(days=2))  # wrong date
    assert ErpOrder.objects.get(order_ref="FO-2").promised_on == PROMISED["FO-2"]  # as the events said
    ErpOrder.objects.filter(order_ref="FO-2").update(promised_on=PROMISED["FO-2"] + dt.timedelta(days=5))
    ErpOrder.objects.filter(order_ref="FO-3").update(promised_on=right_date)  # a promise the ERP never made
    fo3_invoice = Invoice.objects.get(order_ref="FO-3")
    Invoice.objects.filter(pk=fo3_invoice.pk).update(amount=fo3_invoice.amount + 10)  # wrong amount
    ErpOrder.objects.filter(order_ref="FO-4").delete()  # missing order
    ErpOrder.objects.create(  # extra order
        order_ref="FO-99",
        customer=customer,
        status="confirmed",
        status_changed_at=START + dt.timedelta(days=1),
        erp_version=1,
    ).status_history.create(status="confirmed", erp_version=1, occurred_at=START + dt.timedelta(days=1))
    assert ErpOrder.objects.get(order_ref="FO-1").status == "shipped"
    assert not Payment.objects.filter(invoice_number=fo2_invoice["number"]).exists()

    # when
    run = reconciliation_run(actor=SCHEDULER, until=erp.clock().date(), days=90)

    # then: every drift found, with both sides' values ...
    found = {
        (d.record_type, d.record_ref, d.kind, d.field): (d.mirror_value, d.erp_value)
        for d in run.drifts.all()
    }
    assert found[("order", "FO-1", DriftKind.STATUS, "status")] == ("shipped", "delivered")
    assert ("order", "FO-1", DriftKind.DATE, "delivered_on") in found
    (lost_payment,) = run.drifts.filter(record_type="payment")
    assert (lost_payment.kind, lost_payment.mirror_value) == (DriftKind.MISSING, "")
    assert lost_payment.erp_value == f"{fo2_invoice['amount']} EUR"
    assert found[("invoice", fo2_invoice["number"], DriftKind.STATUS, "status")] == ("overdue", "paid")
    assert found[("invoice", fo2_invoice["number"], DriftKind.BALANCE, "amount_open")][1] == "0.00"
    shipment = fo3.shipments.get()
    assert found[("order", "FO-3", DriftKind.DATE, f"{shipment.number}.delivered_on")] == (
        (right_date + dt.timedelta(days=2)).isoformat(),
        right_date.isoformat(),
    )
    assert found[("order", "FO-2", DriftKind.PROMISED, "promised_on")] == (
        (PROMISED["FO-2"] + dt.timedelta(days=5)).isoformat(),
        PROMISED["FO-2"].isoformat(),
    )
    assert found[("order", "FO-3", DriftKind.PROMISED, "promised_on")] == (right_date.isoformat(), "")
    assert found[("invoice", fo3_invoice.number, DriftKind.AMOUNT, "amount")] == (
        f"{fo3_invoice.amount + 10:.2f} EUR",
        f"{fo3_invoice.amount:.2f} EUR",
    )
    assert found[("order", "FO-4", DriftKind.MISSING, "")] == ("", "delivered")
    assert found[("order", "FO-99", DriftKind.EXTRA, "")] == ("confirmed", "")
    # ... every one repaired, and counted
    assert run.status == RunStatus.DONE
    assert run.found == len(found) == run.drifts.count()
    assert run.repaired == run.found
    assert not run.drifts.filter(repaired=False).exists()
    # the mirror now says what the ERP says
    fo1 = ErpOrder.objects.get(order_ref="FO-1")
    assert (fo1.status, fo1.delivered_on) == (
        "delivered",
        dt.date.fromisoformat(erp.records(RecordKind.ORDER, refs=["FO-1"])[0]["delivered_on"]),
    )
    assert fo1.shipments.get().delivered_on == fo1.delivered_on
    assert Invoice.objects.get(number=fo2_invoice["number"]).status == "paid"
    assert Payment.objects.get(invoice_number=fo2_invoice["number"]).amount == Decimal(fo2_invoice["amount"])
    assert ErpOrder.objects.get(order_ref="FO-3").shipments.get().delivered_on == right_date
    assert ErpOrder.objects.get(order_ref="FO-2").promised_on == PROMISED["FO-2"]
    assert ErpOrder.objects.get(order_ref="FO-3").promised_on is None
    assert ErpOrder.objects.get(order_ref="FO-4").promised_on is None
    assert Invoice.objects.get(pk=fo3_invoice.pk).amount == fo3_invoice.amount
    assert ErpOrder.objects.filter(order_ref="FO-4", status="delivered").exists()
    assert not ErpOrder.objects.filter(order_ref="FO-99").exists()
    assert customer.erp_balances.get().open_amount == Decimal("0.00")
    # on the customer's timeline, by the reconciliation
    notes = Activity.objects.filter(customer=customer, payload__reconciliation=True)
    assert notes.count() == len({(d.record_type, d.record_ref) for d in run.drifts.all()})
    assert all("from the ERP" in a.subject or "the ERP does not know" in a.subject for a in notes)
    assert {a.system_actor for a in notes} == {"ERP reconciliation"}
    # and a second run finds nothing
    again = reconciliation_run(actor=SCHEDULER, until=erp.clock().date(), days=90)
    assert (again.found, again.repaired) == (0, 0), list(
        again.drifts.values_list("record_ref", "field", "mirror_value", "erp_value")
    )
    assert again.records_checked == run.records_checked - 1  # FO-99 is gone


def test_without_repair_it_only_reports(erp: StubAdapter) -> None:
    customer = a_customer()
    orders_lived_through(erp, customer)
    mirror_all_but(set())
    Invoice.objects.filter(order_ref="FO-1").update(due_on=START.date() + dt.timedelta(days=300))
    run = reconciliation_run(actor=SCHEDULER, until=erp.clock().date(), days=90, repair=False)
    (drift,) = run.drifts.all()
    assert (drift.kind, drift.field, drift.repaired) == (DriftKind.DATE, "due_on", False)
    assert (run.found, run.repaired) == (1, 0)
    assert Invoice.objects.get(order_ref="FO-1").due_on == START.date() + dt.timedelta(days=300)


def test_a_run_the_erp_answers_closes_the_breaker_with_nothing_in_the_outbox(erp: StubAdapter) -> None:
    # given: the breaker opened during an outage; the outbox is empty
    circuit_unavailable(error="ErpUnavailable: connection refused")
    assert not OutboxMessage.objects.exists()

    # when
    run = reconciliation_run(actor=SCHEDULER, until=erp.clock().date(), days=7)

    # then
    assert run.status == RunStatus.DONE
    assert circuit_status().state == CircuitState.CLOSED


def test_an_unreachable_erp_fails_the_run_and_changes_nothing(erp: StubAdapter) -> None:
    customer = a_customer()
    orders_lived_through(erp, customer)
    mirror_all_but(set())
    faults.set(outage=True)
    run = reconciliation_run(actor=SCHEDULER, until=erp.clock().date(), days=90)
    assert run.status == RunStatus.FAILED
    assert "outage" in run.error
    assert (run.found, run.repaired) == (0, 0)


def test_only_those_allowed_may_run_it(erp: StubAdapter, sales_rep) -> None:
    with pytest.raises(PermissionDenied):
        reconciliation_run(actor=sales_rep, until=timezone.now().date())
    assert not ReconciliationRun.objects.exists()
    assert not Drift.objects.exists()


# --- on demand: the API and the monitor --------------------------------------------------


def test_the_api_runs_a_reconciliation_on_demand_for_the_back_office(
    erp: StubAdapter, api_as, back_office, sales_rep
) -> None:
    # given: a wrong amount in the mirror
    customer = a_customer()
    orders_lived_through(erp, customer)
    mirror_all_but(set())
    invoice = Invoice.objects.get(order_ref="FO-2")
    Invoice.objects.filter(pk=invoice.pk).update(amount=invoice.amount + 1)
    body = {"days": 90, "until": erp.clock().date().isoformat()}
    # when: someone without the right asks, then the back office
    assert api_as(sales_rep).post("/api/v1/sync/reconciliations/", body, format="json").status_code == 403
    client = api_as(back_office)
    response = client.post("/api/v1/sync/reconciliations/", body, format="json")
    # then: 201, the run with what it found and repaired
    assert response.status_code == 201, response.content
    run = response.json()
    assert (run["status"], run["trigger"], run["found"], run["repaired"]) == ("done", "on_demand", 1, 1)
    assert run["requested_by"] == back_office.pk
    ((drift),) = run["drifts"]
    assert (drift["record_type"], drift["record_ref"], drift["kind"], drift["repaired"]) == (
        "invoice",
        invoice.number,
        "amount",
        True,
    )
    assert Invoice.objects.get(pk=invoice.pk).amount == invoice.amount
    listed = client.get("/api/v1/sync/reconciliations/").json()
    assert [r["id"] for r in listed["results"]] == [run["id"]]
    assert client.get(f"/api/v1/sync/reconciliations/{run['id']}/").json()["found"] == 1
    bad = client.post("/api/v1/sync/reconciliations/", {"days": 0}, format="json")
    assert bad.status_code == 400
    assert "days" in bad.json()["errors"]


def test_the_monitor_shows_the_last_run_and_reconciles_on_demand(
    erp: StubAdapter, client, back_office, sales_rep, time_machine
) -> None:
    customer = a_customer()
    orders_lived_through(erp, customer)
    mirror_all_but(set())
    time_machine.move_to(erp.clock(), tick=False)  # the front office's today is the ERP's
    ErpOrder.objects.filter(order_ref="FO-3").update(status="confirmed")
    client.force_login(back_office)
    page = client.get("/sync/").content.decode()
    assert "No record-by-record reconciliation has run yet." in page
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', page).group(1)
    # when: "Reconcile now", clicked twice
    first = client.post("/sync/reconcile/", {"days": "366", "form_token": token})
    second = client.post("/sync/reconcile/", {"days": "366", "form_token": token}, follow=True)
    # then: one run, its drift repaired and listed
    assert first.status_code == 302
    assert ReconciliationRun.objects.count() == 1
    html = second.content.decode()
    run = ReconciliationRun.objects.get()
    assert (run.found, run.repaired, run.status) == (1, 1, "done")
    assert 'id="drifts"' in html
    assert "Order FO-3" in html
    assert ErpOrder.objects.get(order_ref="FO-3").status == "delivered"
    client.force_login(sales_rep)
    assert client.post("/sync/reconcile/", {"days": "14"}).status_code == 403


def test_the_list_of_runs_reads_a_fixed_number_of_queries(
    api_as, back_office, django_assert_max_num_queries
) -> None:
    # given: many runs with many differences each
    for n in range(30):
        run = ReconciliationRun.objects.create(
            trigger="schedule",
            since=START.date(),
            until=START.date() + dt.timedelta(days=n),
            started_at=timezone.now(),
            status=RunStatus.DONE,
            found=5,
        )
        Drift.objects.bulk_create(
            Drift(run=run, kind=DriftKind.DATE, record_type="order", record_ref=f"FO-{n}-{i}")
            for i in range(5)
        )
    client = api_as(back_office)
    # when / then: the list (no differences) and one run (its differences)
    with django_assert_max_num_queries(8):
        listed = client.get("/api/v1/sync/reconciliations/")
    assert listed.status_code == 200
    assert "drifts" not in listed.json()["results"][0]
    with django_assert_max_num_queries(8):
        one = client.get(f"/api/v1/sync/reconciliations/{run.pk}/")
    assert len(one.json()["drifts"]) == 5
