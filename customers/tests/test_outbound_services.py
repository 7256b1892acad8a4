"""The outbound-message room: templates, consent and channel, one copy per message and
recipient (also when a worker crashes and retries), the delivery log, the timeline."""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from customers import services as customer_services
from customers.consent import consent_record
from customers.models import Activity, Customer
from customers.outbound import delivery, services
from customers.outbound.choices import MessageStatus
from customers.outbound.models import DeliveryEvent, MessageTemplate, OutboundMessage
from customers.outbound.tasks import TransientError, deliver_outbound_message, sweep_outbound_messages
from frontoffice.actors import SystemActor
from frontoffice.errors import Conflict
from frontoffice.write_path import MissingActor

pytestmark = pytest.mark.django_db
SHIPPER = SystemActor("test shipper")


@pytest.fixture
def grace(agent: Any) -> Customer:
    return customer_services.customer_create(
        actor=agent,
        kind="person",
        first_name="Grace",
        last_name="Hopper",
        contact_points=[
            {"kind": "email", "value": "grace@example.com"},
            {"kind": "phone", "value": "+44 20 7946 0001"},
        ],
    )


@pytest.fixture
def shipped_template(admin_user: Any) -> MessageTemplate:
    return services.message_template_create(
        actor=admin_user,
        key="test-shipped",
        name="Order shipped",
        subject="Your order {{ order.reference }} is on its way",
        body="Hello {{ customer.first_name }},\nTracking: {{ order.tracking }}.",
    )


def _send(actor: Any, customer: Customer, key: str = "order-shipped:SO-1", **kwargs: Any) -> OutboundMessage:
    kwargs.setdefault("template", "test-shipped")
    kwargs.setdefault("context", {"order": {"reference": "SO-1", "tracking": "TRK-9"}})
    return services.send_to_customer(actor=actor, customer=customer, dedupe_key=key, **kwargs)


# --- templates and rendering ----------------------------------------------------------


def test_it_renders_the_customers_fields_and_the_context(
    grace: Customer, shipped_template: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(agent, grace)
    # then
    message.refresh_from_db()
    assert message.subject == "Your order SO-1 is on its way"
    assert message.body == "Hello Grace,\nTracking: TRK-9."
    assert message.status == MessageStatus.SENT
    assert message.recipient == "grace@example.com"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["grace@example.com"]
    assert mail.outbox[0].extra_headers["Message-ID"] == message.message_id


def test_it_refuses_a_template_with_an_unknown_customer_field(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.message_template_create(
            actor=admin_user, key="bad", name="Bad", subject="Hi {{ customer.owner.password }}", body="x"
        )
    assert "subject" in error.value.message_dict
    assert not MessageTemplate.objects.filter(key__in=["bad", "t1"]).exists()


def test_it_refuses_template_tags_and_broken_placeholders(admin_user: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.message_template_create(
            actor=admin_user, key="bad", name="Bad", subject="{% load x %}", body="Hi {{ customer.first_name"
        )
    assert set(error.value.message_dict) == {"subject", "body"}


def test_a_preview_renders_for_a_real_customer_and_lists_what_the_sender_fills_in(
    grace: Customer, shipped_template: Any
) -> None:
    result = services.preview(customer=grace, template=shipped_template)
    assert result["body"].startswith("Hello Grace,")
    assert result["missing"] == ["order.reference", "order.tracking"]
    assert not OutboundMessage.objects.exists()


def test_it_refuses_a_send_with_a_missing_placeholder_value_and_writes_nothing(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    with pytest.raises(ValidationError) as error:
        _send(agent, grace, context={"order": {"reference": "SO-1"}})
    assert "context" in error.value.message_dict
    assert not OutboundMessage.objects.exists()
    assert not DeliveryEvent.objects.exists()


def test_context_values_are_plain_data_never_objects(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    with pytest.raises(ValidationError) as error:
        _send(agent, grace, context={"order": {"reference": grace, "tracking": "x"}})
    assert "context" in error.value.message_dict


@pytest.mark.parametrize(
    "headers",
    [{"Subject": "x"}, {"X-Evil": "a\r\nBcc: victim@example.com"}, {"bad name": "x"}, ["List-Unsubscribe"]],
)
def test_it_refuses_headers_that_would_change_the_envelope(
    grace: Customer, shipped_template: Any, agent: Any, headers: Any
) -> None:
    with pytest.raises(ValidationError) as error:
        _send(agent, grace, headers=headers)
    assert "headers" in error.value.message_dict
    assert not OutboundMessage.objects.exists()


def test_extra_headers_reach_the_email(
    grace: Customer, marketer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    consent_record(
        actor=marketer, customer_id=grace.pk, channel="email", purpose="marketing", granted=True, source="Web"
    )
    headers = {
        "List-Unsubscribe": "<https://crm.example.com/u/abc>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.send_to_customer(
            actor=marketer,
            customer=grace,
            dedupe_key="campaign:1",
            subject="News for {{ customer.first_name }}",
            body="Hello",
            category="marketing",
            headers=headers,
        )
    # then
    assert mail.outbox[0].subject == "News for Grace"
    assert mail.outbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_an_html_alternative_makes_the_email_multipart(
    grace: Customer, shipped_template: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    html = "<p>Hello <b>Grace</b></p>"
    with django_capture_on_commit_callbacks(execute=True):
        plain = _send(agent, grace, key="plain")
        rich = _send(agent, grace, key="rich", html_body=html)
    assert plain.html_body == ""
    assert rich.html_body == html
    plain_mail, rich_mail = sorted(mail.outbox, key=lambda m: len(getattr(m, "alternatives", [])))
    assert getattr(plain_mail, "alternatives", []) == []
    assert b"multipart/alternative" not in plain_mail.message().as_bytes()
    assert [(a.content, a.mimetype) for a in rich_mail.alternatives] == [(html, "text/html")]
    assert rich_mail.body == "Hello Grace,\nTracking: TRK-9."
    assert b"multipart/alternative" in rich_mail.message().as_bytes()


def test_only_an_email_takes_an_html_alternative(grace: Customer, shipped_template: Any, agent: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _send(agent, grace, channel="sms", html_body="<p>Hi</p>")
    assert "html_body" in caught.value.message_dict
    assert not OutboundMessage.objects.exists()


# --- consent and channel --------------------------------------------------------------


def test_marketing_needs_an_opt_in(
    grace: Customer, marketer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_to_customer(
            actor=marketer,
            customer=grace,
            dedupe_key="campaign:1",
            subject="News",
            body="Hi",
            category="marketing",
        )
    assert message.status == MessageStatus.SUPPRESSED
    assert "consent" in message.status_reason
    assert mail.outbox == []
    assert Activity.objects.filter(customer=grace, kind="message_not_sent").count() == 1


def test_a_withdrawn_consent_stops_marketing(grace: Customer, marketer: Any) -> None:
    consent_record(
        actor=marketer, customer_id=grace.pk, channel="email", purpose="marketing", granted=True, source="Web"
    )
    consent_record(
        actor=marketer,
        customer_id=grace.pk,
        channel="email",
        purpose="marketing",
        granted=False,
        source="Unsubscribe",
    )
    message = services.send_to_customer(
        actor=marketer,
        customer=grace,
        dedupe_key="campaign:1",
        subject="News",
        body="Hi",
        category="marketing",
    )
    assert message.status == MessageStatus.SUPPRESSED


def test_service_messages_need_no_opt_in_but_respect_an_opt_out(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    assert _send(agent, grace, key="a").status == MessageStatus.QUEUED
    consent_record(
        actor=agent, customer_id=grace.pk, channel="email", purpose="service", granted=False, source="Phone"
    )
    refused = _send(agent, grace, key="b")
    assert refused.status == MessageStatus.SUPPRESSED
    assert "opted out" in refused.status_reason


def test_the_preferred_channel_is_used_and_other_channels_are_tracked_only(
    grace: Customer, shipped_template: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    services.customer_preferred_channel_set(actor=agent, customer_id=grace.pk, channel="sms")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(agent, grace)
    # then
    assert message.channel == "sms"
    assert message.recipient == "+442079460001"
    assert message.status == MessageStatus.SENT
    assert message.tracked_only
    assert mail.outbox == []
    assert Activity.objects.filter(customer=grace, kind="message_sent").count() == 1


def test_a_customer_without_an_address_on_the_channel_is_not_written_to(
    agent: Any, shipped_template: Any
) -> None:
    nobody_reachable = customer_services.customer_create(
        actor=agent, kind="person", first_name="No", last_name="Mail"
    )
    message = _send(agent, nobody_reachable)
    assert message.status == MessageStatus.SUPPRESSED
    assert message.status_reason == "No address on this channel."


def test_it_refuses_an_unknown_preferred_channel(grace: Customer, agent: Any) -> None:
    with pytest.raises(ValidationError):
        services.customer_preferred_channel_set(actor=agent, customer_id=grace.pk, channel="pigeon")
    grace.refresh_from_db()
    assert grace.preferred_channel == ""


# --- who may send -----------------------------------------------------------------------


def test_a_send_needs_an_actor_and_the_permission(
    grace: Customer, shipped_template: Any, sales_rep: Any
) -> None:
    with pytest.raises(MissingActor):
        _send(None, grace)
    with pytest.raises(PermissionDenied):
        _send(sales_rep, grace)
    assert not OutboundMessage.objects.exists()


# --- one copy per message and recipient ----------------------------------------------


def test_sending_twice_with_one_key_sends_one_copy(
    grace: Customer, shipped_template: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = _send(agent, grace)
    with django_capture_on_commit_callbacks(execute=True):
        again = _send(agent, grace)
    assert again.pk == first.pk
    assert len(mail.outbox) == 1
    assert OutboundMessage.objects.count() == 1


def test_the_database_refuses_a_second_row_for_one_key_and_recipient(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    message = _send(agent, grace)
    twin = OutboundMessage.objects.get(pk=message.pk)
    twin.pk = None
    twin.message_id = "<other@x>"
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save(force_insert=True)


def test_a_concurrent_twin_returns_the_first_message(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    # given: the pre-check misses the twin another worker inserts at the same time
    first = _send(agent, grace)
    real_filter = OutboundMessage.objects.filter
    calls = {"n": 0}

    def blind_first_lookup(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return real_filter(pk=-1) if calls["n"] == 1 else real_filter(*args, **kwargs)

    # when
    with mock.patch.object(OutboundMessage.objects, "filter", side_effect=blind_first_lookup):
        again = _send(agent, grace)
    # then
    assert again.pk == first.pk
    assert OutboundMessage.objects.count() == 1


def test_a_duplicate_task_sends_nothing_more(
    grace: Customer, shipped_template: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(agent, grace)
    assert deliver_outbound_message.apply(args=[message.pk]).get() == "nothing to send"
    assert len(mail.outbox) == 1


def test_a_worker_that_dies_after_handing_over_never_sends_a_second_copy(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    # given: the e-mail went out, then the worker died before recording it
    message = _send(agent, grace)
    with (
        mock.patch.object(delivery, "outbound_delivered", side_effect=SystemExit("worker killed")),
        pytest.raises(SystemExit),
    ):
        deliver_outbound_message.run(message.pk)
    assert len(mail.outbox) == 1
    # when: the broker redelivers the task (acks_late), and the caller retries its batch
    deliver_outbound_message.apply(args=[message.pk])
    again = _send(agent, grace)
    # then
    assert again.pk == message.pk
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING


def test_the_sweep_fails_a_message_a_dead_worker_left_sending_without_resending(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    # given
    message = _send(agent, grace)
    delivery.outbound_claim(actor=delivery.MAILER, message_id=message.pk)
    # when
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=1)):
        sweep_outbound_messages.apply()
    # then
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "never gets two copies" in message.status_reason
    assert mail.outbox == []
    assert Activity.objects.filter(customer=grace, kind="message_failed").count() == 1


def test_a_transient_failure_is_retried_and_delivers_exactly_once(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    # given
    message = _send(agent, grace)
    # when: the mail server hangs up on the first attempt
    with (
        mock.patch("django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone")),
        pytest.raises(TransientError),
    ):
        deliver_outbound_message.run(message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    deliver_outbound_message.run(message.pk)
    # then
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert len(mail.outbox) == 1
    assert list(message.deliveries.values_list("status", flat=True)) == [
        "queued",
        "sending",
        "queued",
        "sending",
        "sent",
    ]


def test_a_permanent_refusal_fails_the_message_on_the_log_and_timeline(
    grace: Customer, shipped_template: Any, agent: Any
) -> None:
    message = _send(agent, grace)
    refusal = smtplib.SMTPRecipientsRefused({"grace@example.com": (550, b"no such user")})
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=refusal):
        assert deliver_outbound_message.run(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert Activity.objects.filter(customer=grace, kind="message_failed").count() == 1


def test_a_sent_email_can_bounce_once(
    grace: Customer, shipped_template: Any, agent: Any, marketer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(agent, grace)
    delivery.outbound_bounce(actor=marketer, message_id=message.pk, reason="550 mailbox full")
    delivery.outbound_bounce(actor=marketer, message_id=message.pk, reason="again")
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED
    assert Activity.objects.filter(customer=grace, kind="message_bounced").count() == 1


def test_a_message_that_did_not_go_out_cannot_bounce(
    grace: Customer, shipped_template: Any, agent: Any, marketer: Any
) -> None:
    message = _send(agent, grace)
    with pytest.raises(Conflict):  # the message's state is in the way (409), not the report
        delivery.outbound_bounce(actor=marketer, message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED


def test_a_system_actor_sends_in_its_own_name(grace: Customer, shipped_template: Any) -> None:
    message = _send(SHIPPER, grace)
    assert message.requested_by is None
    assert message.requested_by_system == "test shipper"


def test_a_merged_customers_message_goes_to_the_survivor(
    grace: Customer, shipped_template: Any, agent: Any, supervisor: Any
) -> None:
    from customers.merge import customer_merge

    twin = customer_services.customer_create(actor=agent, kind="person", first_name="Grace", last_name="H.")
    customer_merge(actor=supervisor, survivor_id=grace.pk, duplicate_id=twin.pk)
    message = _send(agent, twin)
    assert message.customer_id == grace.pk
