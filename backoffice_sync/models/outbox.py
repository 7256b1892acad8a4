"""Back-office sync: outbox tables."""

from __future__ import annotations

__all__: list[str] = []
