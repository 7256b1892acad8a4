"""Back-office sync: mirrors tables."""

from __future__ import annotations

__all__: list[str] = []
