"""E-mail backends for the quote e-mail tests: a mail server that fails in a chosen way,
then (optionally) recovers; what it accepted lands in `django.core.mail.outbox`."""

from __future__ import annotations

import smtplib
from typing import Any, ClassVar

from django.core.mail.backends.locmem import EmailBackend


class FailingBackend(EmailBackend):
    """Raises `failure` for the first `failures` messages, then accepts like locmem.
    Set both (and read `attempts`) on the class: Django builds a backend per send."""

    failure: ClassVar[Exception] = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    failures: ClassVar[int] = 0
    attempts: ClassVar[int] = 0

    def send_messages(self, messages: Any) -> int:
        type(self).attempts += 1
        if type(self).attempts <= type(self).failures:
            raise type(self).failure
        return super().send_messages(messages)
