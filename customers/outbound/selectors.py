"""Reads of the outbound room, each in a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from customers.outbound.filters import MessageTemplateFilter, OutboundMessageFilter
from customers.outbound.models import DeliveryEvent, MessageTemplate, OutboundMessage
from frontoffice.permissions import readable_by
from frontoffice.write_path import as_id


def message_base(*, reader: Any) -> QuerySet[OutboundMessage]:
    """The messages `reader` may read (not those carrying a permission they lack: every
    reader of the log, page and API, goes through here), with their customer, template
    and delivery log (3 queries for a page)."""
    return (
        readable_by(reader, OutboundMessage.objects.all())
        .select_related("customer", "template", "requested_by")
        .prefetch_related(
            Prefetch("deliveries", queryset=DeliveryEvent.objects.order_by("occurred_at", "id"))
        )
    )


def message_list(*, reader: Any, filters: Any = None) -> QuerySet[OutboundMessage]:
    queryset: QuerySet[OutboundMessage] = OutboundMessageFilter(
        filters or {}, queryset=message_base(reader=reader)
    ).qs
    return queryset


def message_get(*, reader: Any, message_id: object) -> OutboundMessage:
    """The message, or 404 when there is none or `reader` may not read it."""
    pk = as_id(message_id)
    message = message_base(reader=reader).filter(pk=pk).first() if pk else None
    if message is None:
        raise Http404("No such message.")
    return message


def message_by_header(*, message_id_header: str) -> OutboundMessage | None:
    """The message an e-mail header (In-Reply-To, References) names, if it is ours."""
    value = (message_id_header or "").strip()[:200]
    if not value:
        return None
    if not value.startswith("<"):
        value = f"<{value}>"
    return OutboundMessage.objects.select_related("customer").filter(message_id=value).first()


def template_list(*, filters: Any = None) -> QuerySet[MessageTemplate]:
    queryset: QuerySet[MessageTemplate] = MessageTemplateFilter(
        filters or {}, queryset=MessageTemplate.objects.all()
    ).qs
    return queryset
