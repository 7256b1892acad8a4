"""Sales models: filled in by the Sales issue."""

from __future__ import annotations
