"""Create the demo admin (idempotent) and print its login."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from frontoffice.models import User
from frontoffice.roles import Role

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "frontoffice-demo"  # noqa: S105 - printed on purpose; refused without DEBUG


class Command(BaseCommand):
    help = "Create the demo admin user (DEBUG only) and print its login."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not os.environ.get("ALLOW_DEMO_ADMIN"):
            raise CommandError("The demo admin has a published password: DEBUG only.")
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"first_name": "Demo", "last_name": "Admin", "is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        user.groups.add(*Group.objects.filter(name=Role.ADMIN))
        self.stdout.write(self.style.SUCCESS(f"Demo admin login: {DEMO_USERNAME} / {DEMO_PASSWORD}"))
