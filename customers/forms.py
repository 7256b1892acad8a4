"""Page forms for the customer profile.

They parse what a person typed and hand it to the services, which own every rule.
What a service refuses comes back as a Django `ValidationError` keyed like the API's
errors (`last_name`, `attributes.industry`, `contact_points.0.value`); `apply_errors`
puts each message next to the field the person can fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator

from customers.choices import (
    ActivityKind,
    AppliesTo,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    FieldType,
    LifecycleStage,
)
from customers.models import Customer, CustomFieldDefinition
from customers.normalise import normalise_email, normalise_phone
from frontoffice.forms import ATTRIBUTE_FIELD_PREFIX, DateTimeField, ServiceForm
from frontoffice.models import User
from frontoffice.prepared import prepared_rows

LOGGABLE_KINDS = [
    (k.value, k.label)
    for k in (ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING)
]


def _text(label: str, max_length: int, *, help_text: str = "", **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=False, help_text=help_text, **kwargs)


def _owner_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Owner",
        queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"),
        required=False,
        empty_label="Nobody",
    )


def _attribute_field(definition: CustomFieldDefinition) -> forms.Field:
    label = definition.label + (" (required)" if definition.required else "")
    if definition.applies_to != AppliesTo.ANY:
        label += f" ({AppliesTo(definition.applies_to).label.lower()} only)"
    common: dict[str, Any] = {"label": label, "required": False, "help_text": definition.help_text}
    kind = definition.field_type
    field = _attribute_form_field(kind, definition, common)
    # Lets the create form's style sheet hide fields that do not apply to the chosen kind.
    field.widget.attrs["data-applies-to"] = definition.applies_to
    return field


def _attribute_form_field(
    kind: str, definition: CustomFieldDefinition, common: dict[str, Any]
) -> forms.Field:
    if kind == FieldType.NUMBER:
        return forms.DecimalField(max_digits=30, decimal_places=10, **common)
    if kind == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.BOOLEAN:
        widget = forms.NullBooleanSelect()
        widget.choices = [("unknown", "Not set"), ("true", "Yes"), ("false", "No")]
        return forms.NullBooleanField(widget=widget, **common)
    if kind == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "Not set"), *((c, c) for c in definition.choices)], **common)
    return forms.CharField(max_length=1000, **common)


def _attribute_value(value: Any) -> Any:
    if value is None or value == "":
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # the service parses and range-checks numbers
    return value


class CustomerFormBase(ServiceForm):
    first_name = _text("First name", 100)
    last_name = _text("Last name", 100)
    organisation_name = _text("Organisation name", 200)
    lifecycle_stage = forms.ChoiceField(label="Lifecycle stage", choices=LifecycleStage.choices)
    owner = _owner_field()
    parent = forms.IntegerField(
        label="Parent organisation number",
        required=False,
        min_value=1,
        max_value=2**62,
        help_text="The # number shown on the parent organisation's page.",
    )
    tags = _text("Tags", 1000, help_text="Separate tags with commas.")
    erp_customer_number = _text("ERP customer number", 40)

    def __init__(self, *args: Any, kind: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definitions = [
            d
            for d in CustomFieldDefinition.objects.order_by("label", "key")
            if kind is None or d.applies_to in (AppliesTo.ANY, kind)
        ]
        for definition in self.definitions:
            self.fields[ATTRIBUTE_FIELD_PREFIX + definition.key] = _attribute_field(definition)

    @property
    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(ATTRIBUTE_FIELD_PREFIX)]

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in self.fields
            if not name.startswith(ATTRIBUTE_FIELD_PREFIX) and not self.fields[name].widget.is_hidden
        ]

    def clean_parent(self) -> Customer | None:
        number = self.cleaned_data.get("parent")
        if number is None:
            return None
        parent = Customer.objects.filter(pk=number).first()
        if parent is None:
            raise ValidationError("No customer has this number.")
        return parent

    def service_fields(self) -> dict[str, Any]:
        """The cleaned data in the shape the services take."""
        data = self.cleaned_data
        fields = {
            name: data[name]
            for name in (
                "first_name",
                "last_name",
                "organisation_name",
                "lifecycle_stage",
                "owner",
                "parent",
                "erp_customer_number",
            )
            if name in self.fields  # the edit form drops the names that do not apply
        }
        fields["tags"] = [t.strip() for t in data["tags"].split(",") if t.strip()]
        attributes = {}
        for definition in self.definitions:
            value = _attribute_value(data.get(ATTRIBUTE_FIELD_PREFIX + definition.key))
            if value is not None:
                attributes[definition.key] = value
        fields["attributes"] = attributes
        return fields


class CustomerCreateForm(CustomerFormBase):
    one_time = True  # a double click creates one record
    kind = forms.ChoiceField(
        label="Kind", choices=CustomerKind.choices, widget=forms.RadioSelect, initial=CustomerKind.PERSON
    )
    email = _text("E-mail", 320, help_text="Becomes the primary e-mail.")
    phone = _text("Phone", 40, help_text="Any format; stored in international form.")

    field_order = ["kind", "first_name", "last_name", "organisation_name", "email", "phone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contact_fields: list[str] = []

    def apply_errors(self, error: ValidationError | Mapping[str, list[str]]) -> None:
        super().apply_errors(error)
        # The service stops at the customer's own fields before it looks at contact
        # points; check those too so that one round trip reports every problem.
        for name, normalise in (("email", normalise_email), ("phone", normalise_phone)):
            value = (self.cleaned_data.get(name) or "").strip()
            if value and name not in self.errors:
                try:
                    normalise(value)
                except ValidationError as exc:
                    for message in exc.messages:
                        self.add_error(name, message)

    def _applies_to(self, key: str) -> str:
        return next((d.applies_to for d in self.definitions if d.key == key), AppliesTo.ANY)

    def field_for_error(self, key: str) -> str | None:
        # `contact_points.<i>[.<field>]` refer to the i-th contact point we sent.
        if key.startswith("contact_points."):
            index = key.split(".")[1]
            if index.isdigit() and int(index) < len(self.contact_fields):
                return self.contact_fields[int(index)]
        return super().field_for_error(key)

    def service_fields(self) -> dict[str, Any]:
        fields = super().service_fields()
        kind = fields["kind"] = self.cleaned_data["kind"]
        # The page hides what does not fit the chosen kind; what was typed there before
        # switching kind is not what the person meant to save.
        hidden = ("organisation_name",) if kind == CustomerKind.PERSON else ("first_name", "last_name")
        for name in hidden:
            fields[name] = ""
        fields["attributes"] = {
            key: value
            for key, value in fields["attributes"].items()
            if self._applies_to(key) in (AppliesTo.ANY, kind)
        }
        contact_points = []
        self.contact_fields = []
        for name, contact_kind in (("email", ContactKind.EMAIL), ("phone", ContactKind.PHONE)):
            value = self.cleaned_data.get(name, "").strip()
            if value:
                contact_points.append({"kind": contact_kind, "value": value, "is_primary": True})
                self.contact_fields.append(name)
        fields["contact_points"] = contact_points
        return fields


class CustomerEditForm(CustomerFormBase):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    @classmethod
    def for_customer(cls, customer: Customer, tags: list[Any], data: Any = None) -> CustomerEditForm:
        initial = {
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "organisation_name": customer.organisation_name,
            "lifecycle_stage": customer.lifecycle_stage,
            "owner": customer.owner_id,
            "parent": customer.parent_id,
            "tags": ", ".join(t.name for t in tags),
            "erp_customer_number": customer.erp_customer_number or "",
            "version": customer.version,
        }
        for key, value in (customer.attributes or {}).items():
            initial[ATTRIBUTE_FIELD_PREFIX + key] = value
        form = cls(data, initial=initial, kind=customer.kind)
        # A person has no organisation name and an organisation no personal names.
        hidden = ("organisation_name",) if customer.is_person else ("first_name", "last_name")
        for name in hidden:
            del form.fields[name]
        return form


class ActivityForm(ServiceForm):
    one_time = True  # a double click creates one record
    kind = forms.ChoiceField(label="Type", choices=LOGGABLE_KINDS, initial=ActivityKind.NOTE)
    subject = forms.CharField(label="Subject", max_length=200)
    occurred_at = DateTimeField(
        label="When (empty for now)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    body = forms.CharField(
        label="Details", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ContactPointForm(ServiceForm):
    one_time = True  # a double click creates one record
    kind = forms.ChoiceField(label="Type", choices=ContactKind.choices)
    label = forms.ChoiceField(label="Label", choices=ContactLabel.choices, initial=ContactLabel.WORK)
    value = _text("E-mail or phone", 320)
    street = _text("Street", 200)
    postal_code = _text("Postal code", 20)
    city = _text("City", 100)
    region = _text("Region", 100)
    country = _text("Country", 2, help_text="Two-letter code, e.g. GB.")
    is_primary = forms.BooleanField(label="Make primary", required=False)

    def field_for_error(self, key: str) -> str | None:
        # contact_point_add reports errors of its single item as contact_points.0.<field>.
        return super().field_for_error(key.removeprefix("contact_points.0."))

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data["kind"] == ContactKind.ADDRESS:
            data.pop("value")
        else:
            for name in ("street", "postal_code", "city", "region", "country"):
                data.pop(name)
        return data


class ConsentForm(ServiceForm):
    one_time = True  # a double click creates one record
    channel = forms.ChoiceField(label="Channel", choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(label="Purpose", choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        label="Decision",
        choices=[("yes", "Granted"), ("no", "Withdrawn")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        initial="yes",
    )
    source = forms.CharField(label="Source", max_length=100, help_text="Where the customer told us.")
    note = forms.CharField(label="Note", max_length=500, required=False)


MERGE_OUT_OF_DATE = "This merge form is out of date; review the merge again."


class MergeForm(ServiceForm):
    """The merge page's confirmation: the duplicate to merge in, and the version of the
    customer kept as the preview showed it (the merge refuses a newer one)."""

    duplicate = forms.IntegerField(min_value=1, max_value=2**62)
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": MERGE_OUT_OF_DATE,
            "invalid": MERGE_OUT_OF_DATE,
            "min_value": MERGE_OUT_OF_DATE,
        },
    )

    def all_errors(self) -> list[str]:
        """Every error as one line of text (the page shows them in one summary)."""
        return [str(message) for messages in self.errors.values() for message in messages]


class _ListedChoices(ModelChoiceIterator):
    """The choices from one plain query: Django iterates them through `.iterator()`,
    which on PostgreSQL is a server-side cursor (DECLARE, FETCH, CLOSE: three round
    trips) for a list this short."""

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        field: Any = self.field
        for obj in field.listed():
            yield self.choice(obj)


def _active_owners() -> QuerySet[User]:
    # What a choice shows (the name), not the password hash and the rest of the row.
    return (
        User.objects.filter(is_active=True)
        .order_by("first_name", "last_name", "username")
        .only("id", "username", "first_name", "last_name")
    )


class _OwnerField(forms.ModelChoiceField):
    """The owners, read once per form: the same list is rendered and checks the value
    (Django's field asks the database again for the chosen one). `build` makes the
    queryset of the choices, the same statement every time: compiled once per process
    (`frontoffice.prepared`)."""

    iterator = _ListedChoices
    _listed: list[Any] | None = None

    def __init__(self, *, build: Callable[[], QuerySet[Any]], **kwargs: Any) -> None:
        self.build = build
        super().__init__(queryset=build(), **kwargs)

    def __deepcopy__(self, memo: Any) -> Any:
        result = super().__deepcopy__(memo)  # type: ignore[misc]
        result._listed = None  # each form reads its own list
        return result

    def listed(self) -> list[Any]:
        if self._listed is None:
            self._listed = prepared_rows(self.build, self.build)
        return self._listed

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        key = str(value.pk if isinstance(value, User) else value)
        for obj in self.listed():
            if str(obj.pk) == key:
                return obj
        raise ValidationError(
            self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
        )


class CustomerFilterForm(forms.Form):
    """The list page's filters, rendered; `CustomerFilter` does the filtering."""

    use_required_attribute = False

    q = forms.CharField(label="Name, e-mail or phone", required=False, max_length=200)
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any"), *CustomerKind.choices])
    lifecycle_stage = forms.ChoiceField(
        label="Stage", required=False, choices=[("", "Any"), *LifecycleStage.choices]
    )
    tag = forms.CharField(
        label="Tag", required=False, max_length=500, help_text="Several: separate them with commas."
    )
    owner = _OwnerField(label="Owner", required=False, build=_active_owners, empty_label="Anyone")
