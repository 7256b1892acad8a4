"""The 360 view over the API and its panels, typed per panel in the OpenAPI schema.

Each app's panel (`frontoffice.plugin.Panel`) may declare `serializer`: a DRF serializer
describing its data (a `ListSerializer` with its `child` for a list). The schema then
gives every panel a variant of its own (`<Key>Panel`: its key, title, URL and typed
data), and a panel anywhere in the API is one of them, told apart by `key` (a oneOf
with a discriminator). A panel without a serializer is documented with free JSON data.

The variants are built when the schema is generated, from the panels registered then
(the apps' hooks load after this module).
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.request import Request

from customers.api_serializers import ConsentEventSerializer, ContactPointSerializer, CustomerSerializer
from customers.api_timeline import ActivitySerializer
from customers.models import Customer
from customers.selectors_panels import PanelView
from frontoffice import plugin
from frontoffice.plugin import Panel
from frontoffice.reversing import reverse_kept

PANEL_DATA_HELP = "The panel's data (present when asked for, e.g. `?panels=<key>` on the 360 view)."
FREE_DATA_HELP = PANEL_DATA_HELP + " Free JSON: this panel declares no serializer."


class PanelSerializer(serializers.Serializer[Any]):
    """A 360 panel: in the schema, one of the registered panels' variants (by `key`)."""

    key = serializers.CharField(help_text="The panel's key (its app's hooks).")
    title = serializers.CharField()
    url = serializers.URLField(help_text="The panel's own endpoint (its data alone).")
    data = serializers.JSONField(required=False, help_text=PANEL_DATA_HELP)  # type: ignore[assignment]  # a field named like Serializer.data (DRF keeps them apart)


_variants: dict[tuple[str, Any], type[serializers.Serializer[Any]]] = {}


def panel_variant(panel: Panel) -> type[serializers.Serializer[Any]]:
    """The schema of `panel`: its key (the only value), title, URL and typed data.
    One class per panel and serializer, so that the schema names each once."""
    cache_key = (panel.key, panel.serializer)
    if cache_key not in _variants:
        name = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", panel.key) if part)
        data = (
            panel.serializer(required=False, help_text=PANEL_DATA_HELP)
            if panel.serializer is not None
            else serializers.JSONField(required=False, help_text=FREE_DATA_HELP)
        )
        _variants[cache_key] = type(
            f"{name}360PanelSerializer",
            (serializers.Serializer,),
            {
                "__module__": __name__,
                "__doc__": f"The 360 panel {panel.title!r} ({panel.key}).",
                "key": serializers.ChoiceField(choices=[(panel.key, panel.title)]),
                "title": serializers.CharField(),
                "url": serializers.URLField(help_text="The panel's own endpoint (its data alone)."),
                "data": data,
            },
        )
    return _variants[cache_key]


class PanelSchema(OpenApiSerializerExtension):
    """`PanelSerializer` in the schema: one of the registered panels' variants."""

    target_class = PanelSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        refs = {
            panel.key: auto_schema.resolve_serializer(panel_variant(panel), direction).ref
            for panel in plugin.panels()
        }
        if not refs:  # no app registers a panel: the plain shape
            plain: dict[str, Any] = auto_schema._map_serializer(
                self.target, direction, bypass_extensions=True
            )
            return plain
        return {
            "oneOf": list(refs.values()),
            "discriminator": {"propertyName": "key", "mapping": {k: ref["$ref"] for k, ref in refs.items()}},
        }


class RelationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    is_primary_contact = serializers.BooleanField()


class SubsidiarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class Customer360Serializer(serializers.Serializer[Any]):
    customer = CustomerSerializer()
    contact_points = ContactPointSerializer(many=True)
    consents = ConsentEventSerializer(many=True)
    organisations = RelationSerializer(many=True)
    members = RelationSerializer(many=True)
    subsidiaries = SubsidiarySerializer(many=True)
    timeline = ActivitySerializer(many=True)
    timeline_next = serializers.URLField(
        allow_null=True, help_text="The timeline page with the older entries, or null when all are shown."
    )
    panels = PanelSerializer(
        many=True,
        help_text="Every panel you may see, each with its own endpoint; with `?panels=key,...` "
        "those panels' data too.",
    )


def panel_body(request: Request, customer: Customer, panel: PanelView) -> dict[str, Any]:
    """A panel as the API answers it: its data only when loaded."""
    body: dict[str, Any] = {
        "key": panel.key,
        "title": panel.title,
        "url": request.build_absolute_uri(reverse_kept("customer-panel", args=(customer.pk, panel.key))),
    }
    if panel.loaded:
        body["data"] = panel.data
    return body


def relation_body(relation: Any, other: Customer) -> dict[str, Any]:
    return {
        "id": relation.pk,
        "customer_id": other.pk,
        "display_name": other.display_name,
        "role": relation.role,
        "is_primary_contact": relation.is_primary_contact,
    }
