"""Choices of the service desk: cases, queues, SLAs, calls and goodwill."""

from __future__ import annotations

from django.db import models


class CaseKind(models.TextChoices):
    ENQUIRY = "enquiry", "Enquiry"
    REQUEST = "request", "Request"
    COMPLAINT = "complaint", "Complaint"
    INCIDENT = "incident", "Incident"


class CaseChannel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    WEB = "web", "Web"
    CHAT = "chat", "Chat"
    SOCIAL = "social", "Social media"
    IN_PERSON = "in_person", "In person"


# Channels where the agent talks to the customer as the case is opened: that is the
# first response.
LIVE_CHANNELS = (CaseChannel.PHONE, CaseChannel.IN_PERSON, CaseChannel.CHAT)


class CasePriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class CaseCategory(models.TextChoices):
    PRODUCT = "product", "Product"
    DELIVERY = "delivery", "Delivery"
    BILLING = "billing", "Billing"
    STAFF = "staff", "Staff"
    OTHER = "other", "Other"


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING_CUSTOMER = "waiting_customer", "Waiting on customer"
    WAITING_BACK_OFFICE = "waiting_back_office", "Waiting on back office"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.OPEN,
    CaseStatus.WAITING_CUSTOMER,
    CaseStatus.WAITING_BACK_OFFICE,
)
DONE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CLOSED)


class NoteVisibility(models.TextChoices):
    INTERNAL = "internal", "Internal note"
    PUBLIC = "public", "Reply to the customer"


class AssignmentStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_LOADED = "least_loaded", "Least loaded"
    MANUAL = "manual", "Manual"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class CallOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved on the call"
    FOLLOW_UP = "follow_up", "Needs follow-up"
    CALLBACK = "callback", "Call back agreed"
    TRANSFERRED = "transferred", "Transferred"
    NO_ANSWER = "no_answer", "No answer"
    VOICEMAIL = "voicemail", "Left a voicemail"


class GoodwillStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    PENDING = "pending", "Waiting for approval"
    REFUSED = "refused", "Refused"


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    RESOLUTION = "resolution", "Resolution"
