"""Marketing models: filled in by the Marketing issue."""

from __future__ import annotations
