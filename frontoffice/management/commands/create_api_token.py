"""Print a new API token for a user, once; only its hash is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken

from frontoffice.models import User


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it once (clients send 'Authorization: Token <token>')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Default: never expires.")

    def handle(self, *args: Any, username: str, expires_in_days: int | None, **options: Any) -> None:
        try:
            user = User.objects.get(username=username, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user named {username!r}.") from None
        if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
            raise CommandError("--expires-in-days must be between 1 and 3650.")
        expiry = dt.timedelta(days=expires_in_days) if expires_in_days else None
        instance, token = AuthToken.objects.create(user=user, expiry=expiry)
        self.stdout.write(token)
        when = instance.expiry.isoformat() if instance.expiry else "never"
        self.stderr.write(
            f"Token {instance.token_key} for {username}; expires: {when}. It is shown only once."
        )
