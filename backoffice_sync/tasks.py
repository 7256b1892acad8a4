"""Celery tasks of the back-office sync: thin, idempotent, each calls a service."""

from __future__ import annotations
