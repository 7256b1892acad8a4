from __future__ import annotations

from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """The ERP simulator: an ERP with its own tables and clock, behind the adapters."""

    name = "backoffice_sync.simulator"
    label = "erp_simulator"
    verbose_name = "ERP simulator"
