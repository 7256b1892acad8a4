"""The ERP simulator's own tables (prefixed sim_); nothing in the app reads them directly."""

from __future__ import annotations
