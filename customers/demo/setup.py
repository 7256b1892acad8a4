"""What the demo customers need first: the demo staff in every role, the tags, and the
custom attribute definitions."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db.models.functions import Lower

from customers.demo.vocabulary import FIELD_DEFINITIONS, STAFF, TAGS
from customers.models import CustomFieldDefinition, Tag
from frontoffice.management.commands.create_demo_admin import DEMO_PASSWORD
from frontoffice.models import Team, User


def demo_staff() -> tuple[dict[str, User], bool]:
    """The demo staff in every role (created once), and whether any was created now."""
    # One hash for all of them: hashing is slow on purpose, and the password is the same.
    password = make_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    created_any = False
    for username, first, last, role, team_name in STAFF:
        team = Team.objects.get_or_create(name=team_name)[0] if team_name else None
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@frontoffice.example.com",
                "password": password,
                "team": team,
            },
        )
        created_any = created_any or created
        user.groups.add(*Group.objects.filter(name=role))
        users[username] = user
    return users, created_any


def demo_tags() -> dict[str, int]:
    """The demo tags' ids by name (an existing tag of the same name, any case, is reused)."""
    ids = {}
    for name in TAGS:
        tag = Tag.objects.annotate(lname=Lower("name")).filter(lname=name.lower()).first()
        ids[name] = (tag or Tag.objects.create(name=name)).pk
    return ids


def demo_field_definitions() -> None:
    """The custom attributes the demo fills; refuses a database where they differ."""
    for definition in FIELD_DEFINITIONS:
        existing, _ = CustomFieldDefinition.objects.get_or_create(key=definition["key"], defaults=definition)
        compatible = (
            existing.field_type == definition["field_type"]
            and not existing.required
            and set(definition.get("choices", [])) <= set(existing.choices or [])
        )
        if not compatible:
            raise CommandError(
                f"Custom field {existing.key!r} exists with another type, other choices or as "
                "required; seed an empty database."
            )
