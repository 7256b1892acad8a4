"""What the customer API reads and accepts: the profile, its contact points, consent,
relations, duplicate pairs and the merge preview (the timeline's are in
`customers.api_timeline`, the 360 view's and its panels' in `customers.api_panels`).

Input serializers are strict (`StrictSerializer`: an unknown field is an error) and
only parse; every rule is the services'.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.choices import (
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    LifecycleStage,
)
from customers.models import ConsentEvent, ContactPoint, Customer
from frontoffice.models import User
from frontoffice.schema import Variant, variants_of
from frontoffice.serializers import (
    CountryField,
    DateTimeField,
    EmailTextField,
    IdField,
    JSONObjectField,
    PhoneTextField,
    RelatedIdField,
    StrictSerializer,
    TextField,
)


class ContactPointSerializer(serializers.ModelSerializer[ContactPoint]):
    class Meta:
        model = ContactPoint
        fields = [
            "id",
            "kind",
            "label",
            "value",
            "is_primary",
            "street",
            "postal_code",
            "city",
            "region",
            "country",
            "created_at",
        ]
        read_only_fields = fields


class ContactPointInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ContactKind.choices)
    label = serializers.ChoiceField(choices=ContactLabel.choices, required=False)  # type: ignore[assignment]  # a field named like a Field attribute (DRF keeps them apart)
    value = TextField(max_length=320, required=False, help_text="E-mail or phone (any format)")
    is_primary = serializers.BooleanField(required=False, default=False)
    street = TextField(max_length=200, required=False)
    postal_code = TextField(max_length=20, required=False)
    city = TextField(max_length=100, required=False)
    region = TextField(max_length=100, required=False)
    country = CountryField(max_length=2, required=False)


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    owner: serializers.PrimaryKeyRelatedField[User] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    parent: serializers.PrimaryKeyRelatedField[Customer] = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        read_only=True, allow_null=True
    )
    tags = serializers.SerializerMethodField()
    primary_email = serializers.SerializerMethodField()
    primary_phone = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "kind",
            "display_name",
            "first_name",
            "last_name",
            "organisation_name",
            "lifecycle_stage",
            "owner",
            "parent",
            "tags",
            "attributes",
            "erp_customer_number",
            "primary_email",
            "primary_phone",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tags(self, obj: Customer) -> list[str]:
        names = getattr(obj, "tag_names", None)  # read already (the 360 view)
        return list(names) if names is not None else [t.name for t in obj.tags.all()]

    def _primary(self, obj: Customer, kind: str) -> str | None:
        contacts = getattr(obj, "primary_contacts", None)
        if contacts is None:
            contacts = [cp for cp in obj.contact_points.all() if cp.is_primary]
        return next((cp.value for cp in contacts if cp.kind == kind), None)

    def get_primary_email(self, obj: Customer) -> str | None:
        return self._primary(obj, ContactKind.EMAIL)

    def get_primary_phone(self, obj: Customer) -> str | None:
        return self._primary(obj, ContactKind.PHONE)


ADDRESS_FIELDS = ("street", "postal_code", "city", "region", "country")
# What a contact point needs depends on its kind (the services check it; the schema says it).
CONTACT_POINT_VARIANTS = {
    ContactKind.EMAIL.value: Variant(
        fields={"value": EmailTextField(max_length=320, help_text="The e-mail address.")},
        excluded=ADDRESS_FIELDS,
    ),
    ContactKind.PHONE.value: Variant(
        fields={"value": PhoneTextField(max_length=320, help_text="The phone number, normalised to E.164.")},
        excluded=ADDRESS_FIELDS,
    ),
    ContactKind.ADDRESS.value: Variant(required=("street", "city"), excluded=("value",)),
}
CONTACT_POINT_INPUT = variants_of(
    ContactPointInputSerializer,
    name="ContactPointInput",
    variants=CONTACT_POINT_VARIANTS,
    discriminator="kind",
)


@extend_schema_field(
    variants_of(
        ContactPointInputSerializer,
        name="ContactPointInput",
        variants=CONTACT_POINT_VARIANTS,
        discriminator="kind",
        many=True,
    )
)
class ContactPointInputList(serializers.ListSerializer[Any]):
    """Contact points, each described in the schema as its kind's variant."""


class CustomerWriteSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=CustomerKind.choices)
    first_name = TextField(max_length=100, required=False, allow_blank=True)
    last_name = TextField(max_length=100, required=False, allow_blank=True)
    organisation_name = TextField(max_length=200, required=False, allow_blank=True)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    owner = RelatedIdField(queryset=User.objects.filter(is_active=True), required=False, allow_null=True)
    parent = RelatedIdField(  # type: ignore[assignment]  # a field named like a Field attribute
        queryset=Customer.objects.filter(merged_into__isnull=True), required=False, allow_null=True
    )
    tags = serializers.ListField(child=TextField(max_length=50), required=False, max_length=50)
    attributes = JSONObjectField(
        required=False, help_text="Custom attributes, validated against their definitions."
    )
    erp_customer_number = TextField(max_length=40, required=False, allow_null=True, allow_blank=True)
    contact_points = ContactPointInputList(child=ContactPointInputSerializer(), required=False, max_length=20)


# A person needs a (last) name and no organisation name; an organisation the opposite.
CUSTOMER_WRITE = variants_of(
    CustomerWriteSerializer,
    name="CustomerWrite",
    discriminator="kind",
    variants={
        CustomerKind.PERSON.value: Variant(required=("last_name",), excluded=("organisation_name",)),
        CustomerKind.ORGANISATION.value: Variant(
            required=("organisation_name",), excluded=("first_name", "last_name")
        ),
    },
)


class CustomerUpdateSerializer(CustomerWriteSerializer):
    contact_points = None  # type: ignore[assignment]  # managed through /contact-points/


class ConsentEventSerializer(serializers.ModelSerializer[ConsentEvent]):
    actor: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "channel",
            "purpose",
            "granted",
            "source",
            "occurred_at",
            "actor",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class ConsentInputSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = TextField(max_length=100)  # type: ignore[assignment]  # a field named like a Field attribute (DRF keeps them apart)
    occurred_at = DateTimeField(required=False)
    note = TextField(max_length=500, required=False, allow_blank=True)


class ConsentStateSerializer(serializers.Serializer):
    current = ConsentEventSerializer(many=True)
    ledger = ConsentEventSerializer(many=True)


class RelationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    is_primary_contact = serializers.BooleanField()


class SubsidiarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class MergeInputSerializer(StrictSerializer):
    duplicate = IdField(help_text="The customer merged into this one; it stays as a tombstone.")


class DuplicatePairSerializer(serializers.Serializer):
    customer = CustomerSerializer()
    duplicate = CustomerSerializer()
    reasons = serializers.ListField(child=serializers.CharField())


class MergePreviewSerializer(serializers.Serializer):
    survivor = CustomerSerializer()
    duplicate = CustomerSerializer()
    moves = serializers.DictField(child=serializers.IntegerField())
    contact_points_moved = ContactPointSerializer(many=True)
    contact_points_dropped = ContactPointSerializer(many=True)
    tags_added = serializers.ListField(child=serializers.CharField())
    fields_filled = serializers.DictField(child=serializers.JSONField())
