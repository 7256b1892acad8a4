"""The actors of the API contract (tests/api_contract.py) for sales configuration:
pipelines, price lists and discount limits. Sales reads, Admin writes, the back office
sees none of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient


class ConfiguredByAdmins:
    @pytest.fixture
    def reader(self, api_as: Callable[[Any], APIClient], sales_rep: Any) -> APIClient:
        return api_as(sales_rep)

    @pytest.fixture
    def writer(self, api_as: Callable[[Any], APIClient], admin_user: Any) -> APIClient:
        return api_as(admin_user)

    @pytest.fixture
    def outsider(self, api_as: Callable[[Any], APIClient], back_office: Any) -> APIClient:
        return api_as(back_office)
