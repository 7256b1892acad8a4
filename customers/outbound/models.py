"""Tables of the outbound-message room (loaded through `customers.models`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from customers.outbound.choices import MessageCategory, MessageStatus, OutboundChannel
from frontoffice.models import TimeStamped, TimeStampedListed
from frontoffice.permissions import PERMISSION_PATTERN

CUSTOMER = "customers.Customer"


class MessageTemplate(TimeStamped):
    """A subject and a body with `{{ customer.display_name }}`-style placeholders, that
    staff write once and every app sends by its `key`. `version` is the optimistic lock."""

    key = models.SlugField(max_length=80, unique=True, help_text="How apps name the template.")
    name = models.CharField(max_length=120)
    category = models.CharField(
        max_length=10, choices=MessageCategory.choices, default=MessageCategory.SERVICE
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=20000)
    is_active = models.BooleanField(default=True)
    # Set by the app whose template it is (never by the editor): its messages carry it.
    view_permission = models.CharField(
        max_length=100,
        blank=True,
        # Also the database's: rows inserted without the column (raw seeds) need none.
        default="",
        db_default="",
        help_text='The permission needed to read its messages ("app_label.codename"; blank: none).',
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        app_label = "customers"
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name", "id"], name="msgtemplate_name_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=MessageCategory.values), name="msgtemplate_category_valid"
            ),
            models.CheckConstraint(condition=~Q(subject=""), name="msgtemplate_has_subject"),
            models.CheckConstraint(condition=~Q(body=""), name="msgtemplate_has_body"),
            models.CheckConstraint(condition=Q(version__gte=1), name="msgtemplate_version_positive"),
            models.CheckConstraint(
                condition=Q(view_permission="") | Q(view_permission__regex=PERMISSION_PATTERN),
                name="msgtemplate_view_permission_form",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OutboundMessage(TimeStampedListed):
    """One message to one customer, rendered when it was requested.

    At most one per (`dedupe_key`, customer): a caller that retries (a crashed batch, a
    re-delivered event) gets the message it already made, never a second copy. The
    worker claims a queued e-mail (queued -> sending) before handing it to the mail
    server, so a duplicate task finds nothing to send."""

    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="outbound_messages", db_index=False
    )
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    dedupe_key = models.CharField(
        max_length=200, help_text='What makes the message unique for a recipient: "order-shipped:SO-12".'
    )
    category = models.CharField(max_length=10, choices=MessageCategory.choices)
    channel = models.CharField(max_length=8, choices=OutboundChannel.choices)
    recipient = models.CharField(max_length=320, blank=True, help_text="The address used (blank: none).")
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=20000)
    # An HTML alternative of `body` (e-mail only; "" for plain text alone), as the
    # caller made it: the e-mail then goes as multipart/alternative.
    html_body = models.TextField(max_length=60000, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=200, unique=True, help_text="The e-mail's Message-ID header.")
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    status_reason = models.CharField(max_length=300, blank=True)
    tracked_only = models.BooleanField(
        default=False, help_text="A channel we do not deliver ourselves: recorded, not sent."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_system = models.CharField(max_length=50, blank=True)
    view_permission = models.CharField(
        max_length=100,
        blank=True,
        # Also the database's: rows inserted without the column (raw seeds) need none.
        default="",
        db_default="",
        help_text='The permission needed to read the message ("app_label.codename"; blank: none),'
        " on the log and on the timeline.",
    )

    class Meta:
        app_label = "customers"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="outbound_created_idx"),
            models.Index(fields=["customer", "-created_at"], name="outbound_customer_idx"),
            models.Index(fields=["status", "created_at"], name="outbound_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key", "customer"], name="outbound_once_per_recipient"),
            models.CheckConstraint(condition=~Q(dedupe_key=""), name="outbound_has_dedupe_key"),
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="outbound_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=OutboundChannel.values), name="outbound_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(category__in=MessageCategory.values), name="outbound_category_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[MessageStatus.SENT, MessageStatus.BOUNCED])
                | Q(sent_at__isnull=False),
                name="outbound_sent_has_time",
            ),
            models.CheckConstraint(
                condition=Q(view_permission="") | Q(view_permission__regex=PERMISSION_PATTERN),
                name="outbound_view_permission_form",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.customer_id}: {self.subject}"


class DeliveryEvent(models.Model):
    """One line of a message's delivery log (queued, sending, sent, bounced...): append-only."""

    message = models.ForeignKey(
        OutboundMessage, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    detail = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        app_label = "customers"
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["message", "occurred_at", "id"], name="delivery_message_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values), name="delivery_status_valid")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("The delivery log is append-only.")
        super().save(*args, **kwargs)
