"""Choices of the service desk's cases."""

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


class CasePriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN)
