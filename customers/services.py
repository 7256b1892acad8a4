"""Every write to the customer profile itself: its own fields, contact points and
relations. One function per business action, one transaction each, keyword-only
arguments; the audit rows commit with the change.

The profile's other rooms: the timeline (`customers.timeline`), the consent ledger
(`customers.consent`) and merging duplicates (`customers.merge`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, Final, Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q, Value
from django.db.models.functions import Lower
from django.http import Http404

from customers.attributes import validate_attributes
from customers.choices import ContactKind, ContactLabel, CustomerKind, LifecycleStage
from customers.duplicate_index import index_refresh
from customers.events import ProfileChanged
from customers.guards import authorize_edit, lock_customer
from customers.models import ContactPoint, Customer, CustomFieldDefinition, Relationship, Tag
from customers.normalise import name_key, normalise_email, normalise_phone
from frontoffice import events
from frontoffice.actors import Actor, user_of
from frontoffice.errors import Conflict
from frontoffice.models import User
from frontoffice.write_path import as_id, audit, authorize, check_version, clean_text


class _NotGiven(Enum):
    NOT_GIVEN = "not given"


# A keyword argument left out: the field keeps its value (its default when creating).
NOT_GIVEN: Final = _NotGiven.NOT_GIVEN
NotGiven = Literal[_NotGiven.NOT_GIVEN]


# --- helpers ------------------------------------------------------------------


def _display_name(kind: str, first: str, last: str, organisation: str) -> str:
    if kind == CustomerKind.ORGANISATION:
        return organisation.strip()
    return f"{first.strip()} {last.strip()}".strip()


def _resolve_tags(names: Iterable[str]) -> list[Tag]:
    cleaned: dict[str, str] = {}
    for raw in names:
        if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > 50 or "\x00" in raw:
            raise ValidationError({"tags": ["Tags are non-empty texts of at most 50 characters."]})
        cleaned.setdefault(raw.strip().lower(), raw.strip())
    if not cleaned:
        return []
    # The database lowers the names for the unique index (`tag_name_ci_unique`), and its
    # LOWER need not fold what Python's does (SQLite folds ASCII only: "Ëlan" stays so):
    # the lookup compares the database's lower forms on both sides.
    same_name = Q()
    for name in cleaned.values():
        same_name |= Q(lname=Lower(Value(name)))
    existing: dict[str, Tag] = {
        t.name.lower(): t for t in Tag.objects.annotate(lname=Lower("name")).filter(same_name)
    }
    return [existing.get(key) or Tag.objects.create(name=name) for key, name in cleaned.items()]


def _validate_parent(customer: Customer | None, parent: Customer | None) -> None:
    if parent is None:
        return
    if parent.kind != CustomerKind.ORGANISATION:
        raise ValidationError({"parent": ["The parent must be an organisation."]})
    if parent.merged_into_id is not None:
        raise ValidationError({"parent": ["The parent was merged into another customer."]})
    if customer is None or customer.pk is None:
        return
    seen: set[int] = set()
    node: Customer | None = parent
    while node is not None:  # hierarchies are shallow; bounded by the set below
        if node.pk == customer.pk:
            raise ValidationError({"parent": ["That would make the hierarchy a loop."]})
        if node.pk in seen or len(seen) > 50:
            break
        seen.add(node.pk)
        node = node.parent


def customer_fields_apply(
    customer: Customer,
    changes: Mapping[str, Any],
    *,
    creating: bool,
    definitions: list[CustomFieldDefinition] | None = None,
) -> list[Tag] | None:
    """Validate and set the customer's own fields (and `display_name`, `name_key`);
    returns the tags to set (or None). No write, except a tag named for the first time.
    `definitions`: the custom fields, read once by a caller checking many customers
    (the CSV import); read here when not given."""
    errors: dict[str, list[str]] = {}
    if "kind" in changes:
        if not creating and changes["kind"] != customer.kind:
            errors["kind"] = ["The kind of a customer cannot change."]
        elif changes["kind"] not in CustomerKind.values:
            errors["kind"] = [f"Choose one of: {', '.join(CustomerKind.values)}."]
        else:
            customer.kind = changes["kind"]
    for field, length in (("first_name", 100), ("last_name", 100), ("organisation_name", 200)):
        if field in changes:
            setattr(customer, field, clean_text(errors, field, changes[field], length))
    if "lifecycle_stage" in changes:
        if changes["lifecycle_stage"] not in LifecycleStage.values:
            errors["lifecycle_stage"] = [f"Choose one of: {', '.join(LifecycleStage.values)}."]
        else:
            customer.lifecycle_stage = changes["lifecycle_stage"]
    if "owner" in changes:
        customer.owner = changes["owner"]
    if "parent" in changes:
        try:
            _validate_parent(customer, changes["parent"])
            customer.parent = changes["parent"]
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "erp_customer_number" in changes:
        number = clean_text(errors, "erp_customer_number", changes["erp_customer_number"], 40)
        customer.erp_customer_number = number or None
    if customer.kind == CustomerKind.PERSON:
        if not (customer.first_name or customer.last_name):
            errors.setdefault("last_name", []).append("A person needs a first or last name.")
        if customer.organisation_name:
            errors.setdefault("organisation_name", []).append("Only organisations have one.")
    elif customer.kind == CustomerKind.ORGANISATION:
        if not customer.organisation_name:
            errors.setdefault("organisation_name", []).append("An organisation needs a name.")
        if customer.first_name or customer.last_name:
            errors.setdefault("first_name", []).append("Organisations have no first or last name.")
    if "attributes" in changes or creating:
        try:
            merged = changes.get("attributes", customer.attributes or {})
            customer.attributes = validate_attributes(
                kind=customer.kind, values=merged, definitions=definitions
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    tags = None
    if "tags" in changes:
        raw = changes["tags"]
        if not isinstance(raw, list | tuple):
            errors["tags"] = ["Expected a list of tag names."]
        else:
            try:
                tags = _resolve_tags(raw)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    customer.display_name = _display_name(
        customer.kind, customer.first_name, customer.last_name, customer.organisation_name
    )
    customer.name_key = name_key(customer.display_name)
    return tags


def _save_customer(customer: Customer, actor: Actor, **kwargs: Any) -> None:
    audit(customer, actor)
    try:
        with transaction.atomic():
            customer.save(**kwargs)
    except IntegrityError as exc:
        if "erp" in str(exc).lower():
            raise ValidationError(
                {"erp_customer_number": ["Another customer has this ERP customer number."]}
            ) from None
        raise


# --- contact points -------------------------------------------------------------


def _normalise_contact(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    kind = data.get("kind")
    if kind not in ContactKind.values:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(ContactKind.values)}."]})
    label = data.get("label") or ContactLabel.WORK
    if label not in ContactLabel.values:
        errors["label"] = [f"Choose one of: {', '.join(ContactLabel.values)}."]
    is_primary = data.get("is_primary", False)
    if not isinstance(is_primary, bool):
        errors["is_primary"] = ["Expected true or false."]
    out: dict[str, Any] = {"kind": kind, "label": label, "is_primary": bool(is_primary)}
    if kind == ContactKind.ADDRESS:
        for field, length in (("street", 200), ("postal_code", 20), ("city", 100), ("region", 100)):
            out[field] = clean_text(errors, field, data.get(field), length)
        country = clean_text(errors, "country", data.get("country"), 2).upper()
        if country and (len(country) != 2 or not country.isalpha() or not country.isascii()):
            errors["country"] = ["Use a two-letter ISO country code."]
        out["country"] = country
        if not out["street"] or not out["city"]:
            errors.setdefault("street", []).append("An address needs a street and a city.")
        out["value"] = ", ".join(
            part
            for part in (out["street"], f"{out['postal_code']} {out['city']}".strip(), out["region"], country)
            if part
        )[:320]
    else:
        raw = data.get("value")
        if not isinstance(raw, str):
            errors["value"] = ["Expected text."]
        else:
            try:
                out["value"] = normalise_email(raw) if kind == ContactKind.EMAIL else normalise_phone(raw)
            except ValidationError as exc:
                errors["value"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return out


def _add_contact_points(
    customer: Customer, items: Iterable[Mapping[str, Any]], actor: Actor
) -> list[ContactPoint]:
    errors: dict[str, list[str]] = {}
    cleaned: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors[f"contact_points.{index}"] = ["Expected an object."]
            continue
        try:
            cleaned.append(_normalise_contact(item))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors[f"contact_points.{index}.{field}"] = messages
    if errors:
        raise ValidationError(errors)
    existing = list(customer.contact_points.all()) if customer.pk else []
    has_primary = {cp.kind for cp in existing if cp.is_primary}
    seen = {(cp.kind, cp.value) for cp in existing}
    created: list[ContactPoint] = []
    for index, data in enumerate(cleaned):
        key = (data["kind"], data["value"])
        if key in seen:
            raise ValidationError({f"contact_points.{index}.value": ["This customer already has it."]})
        seen.add(key)
        # The first of a kind becomes primary; an explicit primary replaces the old one.
        if data["is_primary"] and data["kind"] in has_primary:
            ContactPoint.objects.filter(customer=customer, kind=data["kind"], is_primary=True).update(
                is_primary=False
            )
        data["is_primary"] = data["is_primary"] or data["kind"] not in has_primary
        if data["is_primary"]:
            has_primary.add(data["kind"])
        if data["kind"] == ContactKind.EMAIL and data["is_primary"]:
            owner = (
                ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=True, value=data["value"])
                .exclude(customer=customer)
                .values_list("customer_id", flat=True)
                .first()
            )
            if owner is not None:
                raise ValidationError(
                    {f"contact_points.{index}.value": [f"Customer {owner} already has this primary e-mail."]}
                )
        contact_point = audit(ContactPoint(customer=customer, **data), actor)
        try:
            with transaction.atomic():
                contact_point.save(force_insert=True)
        except IntegrityError:
            raise Conflict(
                "Another customer took this primary e-mail at the same moment.",
                errors={f"contact_points.{index}.value": ["Already a primary e-mail elsewhere."]},
            ) from None
        created.append(contact_point)
    return created


@transaction.atomic
def contact_point_add(*, actor: Actor, customer_id: int, data: Mapping[str, Any]) -> ContactPoint:
    customer = lock_customer(customer_id)
    authorize_edit(actor, customer)
    (contact_point,) = _add_contact_points(customer, [data], actor)
    _touch(customer, actor)
    return contact_point


@transaction.atomic
def contact_point_remove(*, actor: Actor, customer_id: int, contact_point_id: int | str) -> None:
    customer = lock_customer(customer_id)
    authorize_edit(actor, customer)
    row_id = as_id(contact_point_id)
    contact_point = customer.contact_points.filter(pk=row_id).first() if row_id is not None else None
    if contact_point is None:
        raise Http404("No such contact point.")
    audit(contact_point, actor).delete()
    if contact_point.is_primary:
        successor = customer.contact_points.filter(kind=contact_point.kind).order_by("id").first()
        if successor is not None:
            successor.is_primary = True
            audit(successor, actor).save(update_fields=["is_primary", "updated_at"])
    _touch(customer, actor)


def _touch(customer: Customer, actor: Actor) -> None:
    customer.version += 1
    audit(customer, actor).save(update_fields=["version", "updated_at"])
    profile_changed(customer)


def profile_changed(customer: Customer) -> None:
    """Tell subscribers, inside the transaction, that the profile changed (the ERP's
    sync queues the change in its outbox in this same transaction: an address changed
    at the call centre must reach shipping)."""
    events.publish(ProfileChanged(customer_id=customer.pk))
    # The duplicates page's pairs follow the profile's names, e-mails and phones.
    index_refresh(customer_ids=[customer.pk])


# --- customers ------------------------------------------------------------------


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not NOT_GIVEN}


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    kind: str,
    first_name: str = "",
    last_name: str = "",
    organisation_name: str = "",
    lifecycle_stage: str | NotGiven = NOT_GIVEN,
    owner: User | NotGiven | None = NOT_GIVEN,
    parent: Customer | None = None,
    erp_customer_number: str | None = None,
    attributes: Mapping[str, Any] | NotGiven = NOT_GIVEN,
    tags: Sequence[str] | NotGiven = NOT_GIVEN,
    contact_points: Iterable[Mapping[str, Any]] = (),
) -> Customer:
    """Create a customer with its first contact points; the actor owns it unless
    `owner` says otherwise (the system owns nothing). A primary e-mail already used
    by a live customer is refused with that customer's id (never a silent duplicate)."""
    authorize(actor, "customers.add_customer", message="You may not create customers.")
    customer = Customer(kind=kind)
    fields = _given(
        kind=kind,
        first_name=first_name,
        last_name=last_name,
        organisation_name=organisation_name,
        lifecycle_stage=lifecycle_stage,
        owner=user_of(actor) if owner is NOT_GIVEN else owner,
        parent=parent,
        erp_customer_number=erp_customer_number,
        attributes=attributes,
        tags=tags,
    )
    resolved_tags = customer_fields_apply(customer, fields, creating=True)
    _save_customer(customer, actor)
    if resolved_tags:
        customer.tags.set(resolved_tags)
    _add_contact_points(customer, contact_points, actor)
    index_refresh(customer_ids=[customer.pk])
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: Actor,
    customer_id: int,
    expected_version: int | None,
    kind: str | NotGiven = NOT_GIVEN,
    first_name: str | NotGiven = NOT_GIVEN,
    last_name: str | NotGiven = NOT_GIVEN,
    organisation_name: str | NotGiven = NOT_GIVEN,
    lifecycle_stage: str | NotGiven = NOT_GIVEN,
    owner: User | NotGiven | None = NOT_GIVEN,
    parent: Customer | NotGiven | None = NOT_GIVEN,
    erp_customer_number: str | NotGiven | None = NOT_GIVEN,
    attributes: Mapping[str, Any] | NotGiven = NOT_GIVEN,
    tags: Sequence[str] | NotGiven = NOT_GIVEN,
) -> Customer:
    """Change the fields given (the others keep their value); `kind` cannot change."""
    customer = lock_customer(customer_id)
    authorize_edit(actor, customer)
    check_version(customer, expected_version)
    changes = _given(
        kind=kind,
        first_name=first_name,
        last_name=last_name,
        organisation_name=organisation_name,
        lifecycle_stage=lifecycle_stage,
        owner=owner,
        parent=parent,
        erp_customer_number=erp_customer_number,
        attributes=attributes,
        tags=tags,
    )
    resolved_tags = customer_fields_apply(customer, changes, creating=False)
    customer.version += 1
    _save_customer(customer, actor)
    if resolved_tags is not None:
        customer.tags.set(resolved_tags)
    profile_changed(customer)
    return customer


@transaction.atomic
def customer_delete(*, actor: Actor, customer_id: int, expected_version: int | None = None) -> None:
    customer = lock_customer(customer_id)
    authorize(actor, "customers.delete_customer", message="You may not delete customers.")
    check_version(customer, expected_version)
    if customer.merged_from.exists():
        raise Conflict("Other customers were merged into this one; it cannot be deleted.")
    try:
        # A savepoint: a refusal leaves the caller's transaction usable.
        with transaction.atomic():
            audit(customer, actor).delete()
    except ProtectedError as exc:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise Conflict(
            f"This customer has {', '.join(kinds)} that must be kept; it cannot be deleted."
        ) from None


# --- relationships --------------------------------------------------------------


@transaction.atomic
def relationship_set(
    *,
    actor: Actor,
    person_id: int,
    organisation_id: int,
    role: str = "",
    is_primary_contact: bool = False,
) -> Relationship:
    """A person's role in an organisation (created, or changed when they have one)."""
    person = lock_customer(person_id)
    organisation = lock_customer(organisation_id)
    authorize_edit(actor, person)
    errors: dict[str, list[str]] = {}
    if person.kind != CustomerKind.PERSON:
        errors["person"] = ["Only a person can belong to an organisation."]
    if organisation.kind != CustomerKind.ORGANISATION:
        errors["organisation"] = ["Choose an organisation."]
    role = clean_text(errors, "role", role, 100)
    if errors:
        raise ValidationError(errors)
    relationship = Relationship.objects.filter(person=person, organisation=organisation).first()
    if relationship is None:
        relationship = Relationship(person=person, organisation=organisation)
    relationship.role = role
    relationship.is_primary_contact = bool(is_primary_contact)
    audit(relationship, actor).save()
    return relationship
