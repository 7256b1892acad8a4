from __future__ import annotations

from django.apps import AppConfig


class FrontofficeConfig(AppConfig):
    name = "frontoffice"
    verbose_name = "Frontoffice"
