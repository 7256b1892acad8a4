"""Service models: filled in by the Service issue."""

from __future__ import annotations
