from __future__ import annotations

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customer profile"

    def ready(self) -> None:
        from customers.services import register_own_references

        register_own_references()
