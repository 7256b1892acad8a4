"""The central customer profile: the one customer list every app reads and writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from customers.choices import (
    AppliesTo,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    FieldType,
    ImportStatus,
    LifecycleStage,
)
from frontoffice.models import TimeStamped, TimeStampedListed

slug_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,49}$", "Use lower-case letters, digits and _ (start with a letter)."
)


class Tag(TimeStamped):
    """A free label on customers (segments, VIP, industry...)."""

    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(TimeStamped):
    """An admin-defined custom attribute: its key, type, whether required, choices."""

    key = models.CharField(max_length=50, unique=True, validators=[slug_validator])
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=10, choices=FieldType.choices)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True)
    applies_to = models.CharField(max_length=12, choices=AppliesTo.choices, default=AppliesTo.ANY)
    help_text = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(field_type__in=FieldType.values), name="customfield_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(applies_to__in=AppliesTo.values), name="customfield_applies_to_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        choices = self.choices
        if self.field_type == FieldType.CHOICE:
            if (
                not isinstance(choices, list)
                or not choices
                or not all(isinstance(c, str) and c for c in choices)
            ):
                raise ValidationError({"choices": "A choice field needs a list of non-empty texts."})
        elif choices:
            raise ValidationError({"choices": "Only choice fields have choices."})


class Customer(TimeStampedListed):
    """A person or an organisation: the single source of truth for every app.

    `version` is the optimistic lock (ETag); `merged_into` marks a tombstone left by
    a merge; `name_key` is the normalised name used for duplicate detection.
    """

    kind = models.CharField(max_length=12, choices=CustomerKind.choices)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=202, db_index=True, editable=False)
    name_key = models.CharField(max_length=202, db_index=True, editable=False)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
        help_text="Parent organisation in the hierarchy.",
    )
    lifecycle_stage = models.CharField(
        max_length=10, choices=LifecycleStage.choices, default=LifecycleStage.PROSPECT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    attributes = models.JSONField(default=dict, blank=True)
    erp_customer_number = models.CharField(max_length=40, null=True, blank=True)
    preferred_channel = models.CharField(
        max_length=8,
        choices=ConsentChannel.choices,
        blank=True,
        help_text="How the customer prefers to hear from us (blank: e-mail).",
    )
    version = models.PositiveIntegerField(default=1)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    merged_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["name_key", "updated_at"], m2m_fields=[tags])

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("change_any_customer", "Can change customers owned by anyone"),
            ("merge_customer", "Can merge duplicate customers"),
            ("view_customer_history", "Can see the audit history of customers"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="customer_created_idx"),
            models.Index(fields=["-updated_at", "-id"], name="customer_updated_idx"),
            models.Index(fields=["lifecycle_stage", "display_name"], name="customer_stage_idx"),
            models.Index(fields=["owner", "display_name"], name="customer_owner_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CustomerKind.values), name="customer_kind_valid"),
            models.CheckConstraint(
                condition=Q(lifecycle_stage__in=LifecycleStage.values),
                name="customer_stage_valid",
            ),
            models.CheckConstraint(condition=~Q(display_name=""), name="customer_has_name"),
            models.CheckConstraint(condition=Q(version__gte=1), name="customer_version_positive"),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="customer_not_merged_into_self"
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="customer_not_own_parent"),
            models.CheckConstraint(
                condition=Q(preferred_channel="") | Q(preferred_channel__in=ConsentChannel.values),
                name="customer_preferred_channel_valid",
            ),
            models.UniqueConstraint(
                fields=["erp_customer_number"],
                condition=Q(erp_customer_number__isnull=False),
                name="customer_erp_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_live(self) -> bool:
        return self.merged_into_id is None

    @property
    def is_person(self) -> bool:
        return self.kind == CustomerKind.PERSON


class Relationship(TimeStamped):
    """A person's role in an organisation (buyer, CEO, accounts payable...)."""

    person = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    organisation = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=100, blank=True)
    is_primary_contact = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["organisation_id", "person_id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "organisation"], name="relationship_unique"),
            models.CheckConstraint(
                condition=~Q(person=models.F("organisation")), name="relationship_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.organisation_id} ({self.role})"


class ContactPoint(TimeStamped):
    """An e-mail (lower case), phone (E.164) or postal address of a customer.

    `value` holds the normalised e-mail or phone, or a one-line address. A merge moves
    contact points to the survivor, so a tombstone holds none and "unique among live
    customers" is a plain partial unique constraint.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contact_points", db_index=False
    )
    kind = models.CharField(max_length=8, choices=ContactKind.choices)
    label = models.CharField(max_length=10, choices=ContactLabel.choices, default=ContactLabel.WORK)
    value = models.CharField(max_length=320)
    is_primary = models.BooleanField(default=False)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-is_primary", "id"]
        indexes = [
            models.Index(fields=["kind", "value"], name="contactpoint_value_idx"),
            models.Index(fields=["customer", "kind", "-is_primary"], name="contactpoint_cust_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ContactKind.values), name="contact_kind_valid"),
            models.CheckConstraint(condition=~Q(value=""), name="contact_value_not_empty"),
            models.UniqueConstraint(fields=["customer", "kind", "value"], name="contact_unique_per_customer"),
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=Q(is_primary=True),
                name="contact_one_primary_per_kind",
            ),
            models.UniqueConstraint(
                fields=["value"],
                condition=Q(kind="email", is_primary=True),
                name="contact_primary_email_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.value


class ConsentEvent(models.Model):
    """One line of the append-only consent ledger; the current state is derived."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consent_events", db_index=False
    )
    channel = models.CharField(max_length=8, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=12, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "channel", "purpose", "-occurred_at", "-id"],
                name="consent_state_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=ConsentChannel.values), name="consent_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_valid"
            ),
        ]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrew"
        return f"{self.customer_id} {verb} {self.channel}/{self.purpose}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("The consent ledger is append-only.")
        super().save(*args, **kwargs)


class CurrentConsent(models.Model):
    """The customer's current consent for one channel and purpose: the ledger's latest
    line (by `occurred_at`, then id), kept by `customers.consent` in the transaction that
    appends to the ledger (and rebuilt from the ledger by a merge). No row: never asked.

    Segments and campaign launches read it instead of finding the latest ledger line per
    customer: one index lookup, or one index scan for a million customers."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="current_consents", db_index=False
    )
    channel = models.CharField(max_length=8, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=12, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    occurred_at = models.DateTimeField()
    event = models.OneToOneField(ConsentEvent, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "purpose"], name="current_consent_unique"),
            models.CheckConstraint(
                condition=Q(channel__in=ConsentChannel.values), name="current_consent_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=ConsentPurpose.values), name="current_consent_purpose_valid"
            ),
        ]
        indexes = [
            # "Who has granted e-mail marketing": an index-only scan for a segment.
            models.Index(
                fields=["channel", "purpose", "granted", "customer"], name="current_consent_state_idx"
            )
        ]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrew"
        return f"{self.customer_id} {verb} {self.channel}/{self.purpose} (current)"


class Activity(models.Model):
    """One entry of the customer's timeline, written by every app through
    `customers.timeline.activity_record`."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    kind = models.CharField(max_length=50)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    system_actor = models.CharField(
        max_length=50, blank=True, help_text="The part of the system that acted when no person did."
    )
    source_app = models.CharField(max_length=30)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True, max_length=20000)
    ref_type = models.CharField(max_length=100, blank=True, help_text="app_label.model of the origin")
    ref_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # What reading this entry needs besides its kind's `view_permission` (a message
    # about an invoice): "app_label.codename", blank for nothing more (also the
    # database's default: the demo seed inserts rows without the column).
    view_permission = models.CharField(max_length=100, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="activity_timeline_idx"),
            # The timeline across customers (/api/v1/activities/, newest first): 0.9 ms
            # for a page at a million rows instead of 1.7 s without it.
            models.Index(fields=["-occurred_at", "-id"], name="activity_recent_idx"),
            models.Index(fields=["ref_type", "ref_id"], name="activity_ref_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


class DuplicatePair(TimeStamped):
    """Two live customers that look alike (same e-mail or phone, same normalised name),
    kept up to date by the services when a profile or contact point changes
    (`customers.duplicate_index`), so that the duplicates page over the whole base reads
    its pairs instead of grouping every e-mail and phone on each visit (3 s at 300,000
    customers, 15 s at a million). `customer_a` is the older (lower id) of the two."""

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["customer_a_id", "customer_b_id"]
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="duplicatepair_unique"),
            models.CheckConstraint(
                condition=Q(customer_a__lt=models.F("customer_b")), name="duplicatepair_ordered"
            ),
        ]
        indexes = [models.Index(fields=["customer_b"], name="duplicatepair_b_idx")]

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id}"


class NameNeighbour(models.Model):
    """A live customer's name filed under one of its keys (`normalise.name_neighbour_keys`),
    kept by the services with the duplicate pairs (`customers.duplicate_index`). The
    duplicates panel reads a few rows on each side of a name's own value under each of
    its keys (`selectors_duplicates.similar_name_ids`): a bounded read at any size of the
    base, where the trigram index read grew with it (issue 15)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=12, choices=CustomerKind.choices)
    key = models.CharField(max_length=210)
    value = models.CharField(max_length=210)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="nameneighbour_unique")]
        indexes = [models.Index(fields=["kind", "key", "value", "customer"], name="nameneighbour_lookup")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.key}: {self.value}"


class _ImportStorage(FileSystemStorage):
    """VAR_DIR/imports, read when used (a test's VAR_DIR applies): out of any served
    directory, only the import job reads these files."""

    @property
    def base_location(self) -> str:
        return str(Path(settings.VAR_DIR) / "imports")

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def _import_storage() -> FileSystemStorage:
    return _ImportStorage()


class CustomerImport(TimeStamped):
    """One CSV file of customers to import, checked and written by a worker
    (`customers.services_import`): who sent it, the file, its state and its report
    (counts, the first problems and skipped rows). The worker locks this row for the
    whole import, whose rows commit with `status=done`: a task run twice imports once."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    file = models.FileField(upload_to="customers/%Y/%m/", storage=_import_storage, max_length=255)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("import_customers", "Can import customers from CSV files")]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="customerimport_by_idx"),
            models.Index(fields=["status", "created_at"], name="customerimport_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="customerimport_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True)
                | Q(status__in=[ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED]),
                name="customerimport_finished_when_over",
            ),
            models.CheckConstraint(
                condition=Q(created_count=0) | Q(status=ImportStatus.DONE, dry_run=False),
                name="customerimport_created_only_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def is_over(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED)


# The outbound-message room's tables live in their package; imported here so that the
# app registry loads them with the profile's.
from customers.outbound.models import DeliveryEvent, MessageTemplate, OutboundMessage  # noqa: E402, F401
