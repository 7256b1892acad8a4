"""Staff users and their teams (the unit of the 'own or team's records' rule)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class TimeStamped(models.Model):
    """`created_at`/`updated_at` for every table."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TimeStampedListed(TimeStamped):
    """`TimeStamped` for a table whose lists are in `created_at` order and which has its
    own index led by `created_at` (`(created_at, id)`): that index serves every read by
    the column, so the column has none of its own (tests/test_schema_indexes.py)."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Team(TimeStamped):
    """A group of staff who may edit each other's records (e.g. one sales team)."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff or an API client; roles are Django groups (see roles.py)."""

    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")

    # django-stubs does not declare AbstractUser.Meta (it exists at run time).
    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        ordering = ["username"]
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class ApiTokenInfo(TimeStamped):
    """What the owner calls one of their API tokens. knox keeps the token itself (its
    digest, owner and expiry); a token made before names existed has no row here."""

    token = models.OneToOneField(
        "knox.AuthToken", primary_key=True, on_delete=models.CASCADE, related_name="info"
    )
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(TimeStamped):
    """A write a client (an `Idempotency-Key` header) or a page (a one-time form token)
    asked for, and the answer it got, so that a retry gets that answer instead of a
    second record (`frontoffice.idempotency`). Kept IDEMPOTENCY_KEY_TTL_HOURS, then purged.

    The row is inserted in the transaction of the write itself: a concurrent duplicate's
    insert waits on the unique key until the first commits (then replays its answer) or
    rolls back (then does the write itself)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    headers = models.JSONField(default=dict, blank=True)
    # What a page's write returned (a record), to show the same success again.
    result_type = models.CharField(max_length=100, blank=True)
    result_id = models.CharField(max_length=40, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self) -> str:
        return self.key
