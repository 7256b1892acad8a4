"""Months of service history for the demo, replayed through the services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.demo.cases import seed_cases


def seed_service_history(options: Mapping[str, Any]) -> str:
    return seed_cases(options)
