"""Choices of marketing: campaign channels and states, member statuses, exclusions."""

from __future__ import annotations

from django.db import models


class CampaignChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    # Tracked-only channels: nothing is sent, the campaign carries budget and leads.
    SMS = "sms", "SMS (tracked only)"
    EVENT = "event", "Event (tracked only)"
    PAID = "paid", "Paid media (tracked only)"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# From each state, the states a campaign may move to (anything else is refused).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CampaignStatus.DRAFT: (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.CANCELLED),
    CampaignStatus.SCHEDULED: (CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.CANCELLED),
    CampaignStatus.RUNNING: (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED),
    CampaignStatus.COMPLETED: (),
    CampaignStatus.CANCELLED: (),
}


class MemberStatus(models.TextChoices):
    """Where a recipient stands; each response moves it forward, never back (except
    unsubscribed and bounced, which are final)."""

    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    RESPONDED = "responded", "Responded"
    CONVERTED = "converted", "Converted"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    # The outbound room refused it at sending time (consent withdrawn since the launch,
    # no address any more): nothing was sent.
    SUPPRESSED = "suppressed", "Not sent"


# The order in which responses move a member forward.
PROGRESS = [
    MemberStatus.PENDING,
    MemberStatus.SENT,
    MemberStatus.OPENED,
    MemberStatus.CLICKED,
    MemberStatus.RESPONDED,
    MemberStatus.CONVERTED,
]
FINAL = (MemberStatus.UNSUBSCRIBED, MemberStatus.BOUNCED, MemberStatus.SUPPRESSED)


class ExclusionReason(models.TextChoices):
    """Why a customer of the segment was left out of a launch's audience."""

    MERGED = "merged", "Merged into another customer"
    NO_EMAIL = "no_email", "No e-mail address"
    NO_CONSENT = "no_consent", "No current e-mail marketing consent"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "E-mail bounced"
    FREQUENCY_CAP = "frequency_cap", "Over the frequency cap"


class ScoringKind(models.TextChoices):
    PROFILE = "profile", "Profile (segment rule)"
    BEHAVIOUR = "behaviour", "Behaviour (event)"


class ScoringEvent(models.TextChoices):
    """Behaviours a scoring rule may give points for."""

    OPENED = "opened", "Opened a campaign e-mail"
    CLICKED = "clicked", "Clicked in a campaign e-mail"
    FORM_SUBMITTED = "form_submitted", "Submitted a lead form"


class RoutingMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    TERRITORY = "territory", "Territory (custom attribute)"
