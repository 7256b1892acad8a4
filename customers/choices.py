from __future__ import annotations

from django.db import models


class CustomerKind(models.TextChoices):
    PERSON = "person", "Person"
    ORGANISATION = "organisation", "Organisation"


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    FORMER = "former", "Former customer"


class ContactKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    ADDRESS = "address", "Postal address"


class ContactLabel(models.TextChoices):
    WORK = "work", "Work"
    HOME = "home", "Home"
    MOBILE = "mobile", "Mobile"
    BILLING = "billing", "Billing"
    SHIPPING = "shipping", "Shipping"
    OTHER = "other", "Other"


class ConsentChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone"
    POST = "post", "Post"


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    NEWSLETTER = "newsletter", "Newsletter"
    PROFILING = "profiling", "Profiling"
    SERVICE = "service", "Service messages"


class ActivityKind(models.TextChoices):
    """Kinds the customer profile itself writes; other apps declare theirs in their hooks."""

    NOTE = "note", "Note"
    CALL = "call", "Call"
    EMAIL = "email", "E-mail"
    MEETING = "meeting", "Meeting"
    CONSENT = "consent", "Consent change"
    PROFILE = "profile", "Profile change"
    MERGE = "merge", "Merge"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    BOOLEAN = "boolean", "Yes/no"
    CHOICE = "choice", "Choice"


class AppliesTo(models.TextChoices):
    ANY = "any", "Any customer"
    PERSON = "person", "People"
    ORGANISATION = "organisation", "Organisations"


class ImportStatus(models.TextChoices):
    """A customer import job: queued, then checked and written by a worker (all or
    nothing), or refused with its report; failed when it broke (nothing written)."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"
