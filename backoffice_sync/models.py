"""Backoffice sync models: filled in by the Backoffice sync issue."""

from __future__ import annotations
