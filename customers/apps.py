from __future__ import annotations

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customer profile"

    def ready(self) -> None:
        from customers.roles import GRANTS
        from customers.services import register_own_references
        from frontoffice.roles import declare

        declare(GRANTS)
        register_own_references()
