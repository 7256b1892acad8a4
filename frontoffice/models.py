"""Staff users and their teams (the unit of the 'own or team's records' rule)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class TimeStamped(models.Model):
    """`created_at`/`updated_at` for every table."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

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
