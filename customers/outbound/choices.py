"""Choices of the outbound-message room."""

from __future__ import annotations

from django.db import models


class OutboundChannel(models.TextChoices):
    """The same codes as the consent ledger's channels, so consent is checked per channel."""

    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone"
    POST = "post", "Post"


class MessageCategory(models.TextChoices):
    """Why we write: a service message (an order, a case) needs no opt-in but respects an
    opt-out; a marketing message needs a current opt-in."""

    SERVICE = "service", "Service"
    MARKETING = "marketing", "Marketing"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Not sent"


# Channels we deliver ourselves; the others are recorded as sent by hand ("tracked only").
DELIVERED_CHANNELS = (OutboundChannel.EMAIL,)
FINAL_STATUSES = (MessageStatus.SENT, MessageStatus.BOUNCED, MessageStatus.FAILED, MessageStatus.SUPPRESSED)
