"""Print a new API token for a user, once; only its hash is stored."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontoffice import tokens
from frontoffice.models import User


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it once (clients send 'Authorization: Token <token>')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Default: API_TOKEN_TTL_DAYS (1 to 3650)."
        )
        parser.add_argument("--name", default="Made with create_api_token", help="What will use it.")

    def handle(
        self, *args: Any, username: str, expires_in_days: int | None, name: str, **options: Any
    ) -> None:
        try:
            user = User.objects.get(username=username, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user named {username!r}.") from None
        try:
            instance, token = tokens.token_create(actor=user, name=name, expires_in_days=expires_in_days)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(token)
        self.stderr.write(
            f"Token {instance.token_key} for {username}; expires: {instance.expiry.isoformat()}. "
            "It is shown only once."
        )
