"""Every write to the customer profile. One function per business action, one
transaction each, keyword-only arguments; the timeline and audit rows commit with
the change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from customers.attributes import validate_attributes
from customers.choices import (
    ActivityKind,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    LifecycleStage,
)
from customers.events import ProfileChanged
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    Relationship,
    Tag,
)
from customers.normalise import name_key, normalise_email, normalise_phone
from frontoffice import events, plugin
from frontoffice.actors import user_of
from frontoffice.errors import Conflict, StaleVersion
from frontoffice.permissions import can_edit_owned
from frontoffice.plugin import MergeReference

CUSTOMER_FIELDS = (
    "kind",
    "first_name",
    "last_name",
    "organisation_name",
    "lifecycle_stage",
    "owner",
    "parent",
    "erp_customer_number",
    "attributes",
    "tags",
)
ANY_CUSTOMER = "customers.change_any_customer"


class CustomerMerged(Conflict):
    code = "customer_merged"
    title = "This customer was merged into another one."

    def __init__(self, *, survivor_id: int) -> None:
        self.survivor_id = survivor_id
        super().__init__(f"Customer was merged into customer {survivor_id}.")


# --- helpers ------------------------------------------------------------------


def _lock_customer(customer_id: Any) -> Customer:
    try:
        customer = Customer.objects.select_for_update().get(pk=int(customer_id))
    except (Customer.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such customer.") from None
    if customer.merged_into_id is not None:
        raise CustomerMerged(survivor_id=customer.merged_into_id)
    return customer


def _require_edit(actor: Any, customer: Customer) -> None:
    if actor is None:  # system writes (ERP sync, tasks)
        return
    if not actor.has_perm("customers.change_customer") or not can_edit_owned(
        actor, customer, any_permission=ANY_CUSTOMER
    ):
        raise PermissionDenied("You may only edit customers you or your team own.")


def _display_name(kind: str, first: str, last: str, organisation: str) -> str:
    if kind == CustomerKind.ORGANISATION:
        return organisation.strip()
    return f"{first.strip()} {last.strip()}".strip()


def _check_version(customer: Customer, expected_version: int | None) -> None:
    if expected_version is not None and customer.version != expected_version:
        raise StaleVersion(current=customer.version)


def _clean_text(errors: dict[str, list[str]], field: str, value: Any, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Expected text.")
        return ""
    if "\x00" in value:
        errors.setdefault(field, []).append("Null characters are not allowed.")
    if len(value) > max_length:
        errors.setdefault(field, []).append(f"At most {max_length} characters.")
    return value.strip()


def _resolve_tags(names: Iterable[str]) -> list[Tag]:
    cleaned: dict[str, str] = {}
    for raw in names:
        if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > 50 or "\x00" in raw:
            raise ValidationError({"tags": ["Tags are non-empty texts of at most 50 characters."]})
        cleaned.setdefault(raw.strip().lower(), raw.strip())
    if not cleaned:
        return []
    existing = {t.lname: t for t in Tag.objects.annotate(lname=Lower("name")).filter(lname__in=list(cleaned))}
    tags = []
    for key, name in cleaned.items():
        tag = existing.get(key)
        if tag is None:
            tag = Tag.objects.create(name=name)
        tags.append(tag)
    return tags


def _validate_parent(customer: Customer | None, parent: Customer | None) -> None:
    if parent is None:
        return
    if parent.kind != CustomerKind.ORGANISATION:
        raise ValidationError({"parent": ["The parent must be an organisation."]})
    if parent.merged_into_id is not None:
        raise ValidationError({"parent": ["The parent was merged into another customer."]})
    if customer is None or customer.pk is None:
        return
    seen = set()
    node: Customer | None = parent
    while node is not None:  # hierarchies are shallow; bounded by the set below
        if node.pk == customer.pk:
            raise ValidationError({"parent": ["That would make the hierarchy a loop."]})
        if node.pk in seen or len(seen) > 50:
            break
        seen.add(node.pk)
        node = node.parent


def _apply_fields(customer: Customer, changes: Mapping[str, Any], *, creating: bool) -> list[Tag] | None:
    """Validate and set the customer's own fields; returns the tags to set (or None)."""
    errors: dict[str, list[str]] = {}
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    for field in sorted(unknown):
        errors[field] = ["Unknown field."]
    if "kind" in changes:
        if not creating and changes["kind"] != customer.kind:
            errors["kind"] = ["The kind of a customer cannot change."]
        elif changes["kind"] not in CustomerKind.values:
            errors["kind"] = [f"Choose one of: {', '.join(CustomerKind.values)}."]
        else:
            customer.kind = changes["kind"]
    for field, length in (("first_name", 100), ("last_name", 100), ("organisation_name", 200)):
        if field in changes:
            setattr(customer, field, _clean_text(errors, field, changes[field], length))
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
        number = _clean_text(errors, "erp_customer_number", changes["erp_customer_number"], 40)
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
            customer.attributes = validate_attributes(kind=customer.kind, values=merged)
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


def _save_customer(customer: Customer, **kwargs: Any) -> None:
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
            out[field] = _clean_text(errors, field, data.get(field), length)
        country = _clean_text(errors, "country", data.get("country"), 2).upper()
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


def _add_contact_points(customer: Customer, items: Iterable[Mapping[str, Any]]) -> list[ContactPoint]:
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
    created = []
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
        try:
            with transaction.atomic():
                created.append(ContactPoint.objects.create(customer=customer, **data))
        except IntegrityError:
            raise Conflict(
                "Another customer took this primary e-mail at the same moment.",
                errors={f"contact_points.{index}.value": ["Already a primary e-mail elsewhere."]},
            ) from None
    return created


@transaction.atomic
def contact_point_add(*, actor: Any, customer_id: Any, data: Mapping[str, Any]) -> ContactPoint:
    customer = _lock_customer(customer_id)
    _require_edit(actor, customer)
    (contact_point,) = _add_contact_points(customer, [data])
    _touch(customer)
    return contact_point


@transaction.atomic
def contact_point_remove(*, actor: Any, customer_id: Any, contact_point_id: Any) -> None:
    customer = _lock_customer(customer_id)
    _require_edit(actor, customer)
    try:
        contact_point = customer.contact_points.get(pk=int(contact_point_id))
    except (ContactPoint.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such contact point.") from None
    contact_point.delete()
    if contact_point.is_primary:
        successor = customer.contact_points.filter(kind=contact_point.kind).order_by("id").first()
        if successor is not None:
            successor.is_primary = True
            successor.save(update_fields=["is_primary", "updated_at"])
    _touch(customer)


def _touch(customer: Customer) -> None:
    customer.version += 1
    customer.save(update_fields=["version", "updated_at"])
    profile_changed(customer)


def profile_changed(customer: Customer) -> None:
    """Tell subscribers, inside the transaction, that the profile changed (the ERP's
    sync queues the change in its outbox in this same transaction: an address changed
    at the call centre must reach shipping)."""
    events.publish(ProfileChanged(customer_id=customer.pk))


# --- customers ------------------------------------------------------------------


@transaction.atomic
def customer_create(
    *,
    actor: Any,
    contact_points: Iterable[Mapping[str, Any]] = (),
    **fields: Any,
) -> Customer:
    """Create a customer with its first contact points. A primary e-mail already used
    by a live customer is refused with that customer's id (never a silent duplicate)."""
    if actor is not None and not actor.has_perm("customers.add_customer"):
        raise PermissionDenied("You may not create customers.")
    customer = Customer(kind=fields.get("kind", ""))
    if "owner" not in fields and actor is not None:
        fields["owner"] = actor
    tags = _apply_fields(customer, fields, creating=True)
    _save_customer(customer)
    if tags:
        customer.tags.set(tags)
    _add_contact_points(customer, contact_points)
    return customer


@transaction.atomic
def customer_update(
    *, actor: Any, customer_id: Any, expected_version: int | None, **changes: Any
) -> Customer:
    customer = _lock_customer(customer_id)
    _require_edit(actor, customer)
    _check_version(customer, expected_version)
    tags = _apply_fields(customer, changes, creating=False)
    customer.version += 1
    _save_customer(customer)
    if tags is not None:
        customer.tags.set(tags)
    profile_changed(customer)
    return customer


@transaction.atomic
def customer_delete(*, actor: Any, customer_id: Any, expected_version: int | None = None) -> None:
    customer = _lock_customer(customer_id)
    if actor is not None and not actor.has_perm("customers.delete_customer"):
        raise PermissionDenied("You may not delete customers.")
    _check_version(customer, expected_version)
    if customer.merged_from.exists():
        raise Conflict("Other customers were merged into this one; it cannot be deleted.")
    try:
        # A savepoint: a refusal leaves the caller's transaction usable.
        with transaction.atomic():
            customer.delete()
    except ProtectedError as exc:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise Conflict(
            f"This customer has {', '.join(kinds)} that must be kept; it cannot be deleted."
        ) from None


# --- consent --------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *,
    actor: Any,
    customer_id: Any,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    occurred_at: Any = None,
    note: str = "",
) -> ConsentEvent:
    """Append to the consent ledger and to the timeline."""
    customer = _lock_customer(customer_id)
    errors: dict[str, list[str]] = {}
    if channel not in ConsentChannel.values:
        errors["channel"] = [f"Choose one of: {', '.join(ConsentChannel.values)}."]
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = [f"Choose one of: {', '.join(ConsentPurpose.values)}."]
    if not isinstance(granted, bool):
        errors["granted"] = ["Expected true or false."]
    source = _clean_text(errors, "source", source, 100)
    if not source:
        errors.setdefault("source", []).append("Say where the consent came from.")
    note = _clean_text(errors, "note", note, 500)
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + timezone.timedelta(minutes=5):
        errors["occurred_at"] = ["Consent cannot be recorded in the future."]
    if errors:
        raise ValidationError(errors)
    event = ConsentEvent.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source,
        occurred_at=occurred_at,
        actor=user_of(actor),
        note=note,
    )
    verb = "granted" if granted else "withdrew"
    activity_record(
        customer_id=customer.pk,
        kind=ActivityKind.CONSENT,
        actor=actor,
        source_app="customers",
        subject=f"{verb.capitalize()} {event.get_purpose_display().lower()} by {event.get_channel_display()}",
        body=note,
        ref=event,
        payload={"channel": channel, "purpose": purpose, "granted": granted, "source": source},
        occurred_at=occurred_at,
    )
    return event


# --- timeline -------------------------------------------------------------------


def activity_record(
    *,
    customer_id: Any,
    kind: str,
    subject: str,
    actor: Any = None,
    source_app: str = "customers",
    body: str = "",
    occurred_at: Any = None,
    ref: Model | None = None,
    ref_type: str = "",
    ref_id: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Activity:
    """The one way every app appends to a customer's timeline.

    Runs inside the caller's transaction, so the entry commits with the change it
    describes. `ref` (or `ref_type` + `ref_id`) points back at the originating object.
    A batch of entries (a sweep) goes through `activity_record_many`.
    """
    activity = _new_activity(
        customer_id=customer_id,
        kind=kind,
        subject=subject,
        actor=actor,
        source_app=source_app,
        body=body,
        occurred_at=occurred_at,
        ref=ref,
        ref_type=ref_type,
        ref_id=ref_id,
        payload=payload,
    )
    activity.save(force_insert=True)
    return activity


def activity_record_many(*, entries: Iterable[Mapping[str, Any]]) -> list[Activity]:
    """`activity_record` for many entries at once (each a dict of its keyword arguments),
    in one INSERT per database batch rather than one per entry: for sweeps that change
    many rows in one transaction. Every entry is checked before any is written."""
    activities = [_new_activity(**entry) for entry in entries]
    return Activity.objects.bulk_create(activities)


def _new_activity(
    *,
    customer_id: Any,
    kind: str,
    subject: str,
    actor: Any = None,
    source_app: str = "customers",
    body: str = "",
    occurred_at: Any = None,
    ref: Model | None = None,
    ref_type: str = "",
    ref_id: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Activity:
    errors: dict[str, list[str]] = {}
    subject = _clean_text(errors, "subject", subject, 200)
    if not subject:
        errors.setdefault("subject", []).append("A timeline entry needs a subject.")
    body = _clean_text(errors, "body", body, 20000)
    if not isinstance(kind, str) or not kind or len(kind) > 50:
        errors["kind"] = ["Expected a kind of at most 50 characters."]
    if errors:
        raise ValidationError(errors)
    if ref is not None:
        ref_type, ref_id = ref._meta.label_lower, str(ref.pk)
    return Activity(
        customer_id=customer_id,
        kind=kind,
        subject=subject,
        body=body,
        actor=user_of(actor),
        source_app=source_app,
        occurred_at=occurred_at or timezone.now(),
        ref_type=ref_type,
        ref_id=ref_id,
        payload=dict(payload or {}),
    )


@transaction.atomic
def activity_log(
    *,
    actor: Any,
    customer_id: Any,
    kind: str,
    subject: str,
    body: str = "",
    occurred_at: Any = None,
    payload: Mapping[str, Any] | None = None,
) -> Activity:
    """A member of staff logs a note, call, e-mail or meeting on a customer."""
    customer = _lock_customer(customer_id)
    if kind not in (ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING):
        raise ValidationError({"kind": ["Choose one of: note, call, email, meeting."]})
    if occurred_at is not None and occurred_at > timezone.now() + timezone.timedelta(days=1):
        raise ValidationError({"occurred_at": ["An interaction cannot have happened in the future."]})
    return activity_record(
        customer_id=customer.pk,
        kind=kind,
        subject=subject,
        body=body,
        actor=actor,
        source_app="customers",
        occurred_at=occurred_at,
        payload=payload,
    )


# --- relationships --------------------------------------------------------------


@transaction.atomic
def relationship_set(
    *, actor: Any, person_id: Any, organisation_id: Any, role: str = "", is_primary_contact: bool = False
) -> Relationship:
    person = _lock_customer(person_id)
    organisation = _lock_customer(organisation_id)
    _require_edit(actor, person)
    errors: dict[str, list[str]] = {}
    if person.kind != CustomerKind.PERSON:
        errors["person"] = ["Only a person can belong to an organisation."]
    if organisation.kind != CustomerKind.ORGANISATION:
        errors["organisation"] = ["Choose an organisation."]
    role = _clean_text(errors, "role", role, 100)
    if errors:
        raise ValidationError(errors)
    relationship, _ = Relationship.objects.update_or_create(
        person=person,
        organisation=organisation,
        defaults={"role": role, "is_primary_contact": bool(is_primary_contact)},
    )
    return relationship


# --- merge ------------------------------------------------------------------------


def _repoint_contact_points(survivor: Customer, duplicate: Customer) -> int:
    kept = {(cp.kind, cp.value): cp for cp in survivor.contact_points.all()}
    primary_kinds = {cp.kind for cp in kept.values() if cp.is_primary}
    moved = 0
    for cp in duplicate.contact_points.all():
        if (cp.kind, cp.value) in kept:
            cp.delete()
            continue
        cp.customer = survivor
        cp.is_primary = cp.is_primary and cp.kind not in primary_kinds
        if cp.is_primary:
            primary_kinds.add(cp.kind)
        cp.save(update_fields=["customer", "is_primary", "updated_at"])
        moved += 1
    return moved


def _repoint_relationships(field: str, other: str) -> Any:
    def repoint(survivor: Customer, duplicate: Customer) -> int:
        taken = set(Relationship.objects.filter(**{field: survivor}).values_list(f"{other}_id", flat=True))
        # A relation between the two merged records, or one the survivor already has,
        # would become a self-relation or a duplicate: drop it.
        Relationship.objects.filter(**{field: duplicate, f"{other}_id__in": taken | {survivor.pk}}).delete()
        return Relationship.objects.filter(**{field: duplicate}).update(**{field: survivor})

    return repoint


def _repoint_subsidiaries(survivor: Customer, duplicate: Customer) -> int:
    return Customer.objects.filter(parent=duplicate).exclude(pk=survivor.pk).update(parent=survivor)


def _repoint_tombstones(survivor: Customer, duplicate: Customer) -> int:
    # Keep redirects one hop long: earlier tombstones now point at the survivor.
    return Customer.objects.filter(merged_into=duplicate).update(merged_into=survivor)


def _simple_repoint(reference: MergeReference) -> Any:
    def repoint(survivor: Customer, duplicate: Customer) -> int:
        return reference.model.objects.filter(**{reference.field_name: duplicate}).update(
            **{reference.field_name: survivor}
        )

    return repoint


def _lock_pair(survivor_id: Any, duplicate_id: Any) -> tuple[Customer, Customer]:
    try:
        ids = [int(survivor_id), int(duplicate_id)]
    except (TypeError, ValueError):
        raise ValidationError({"duplicate": ["Expected a customer id."]}) from None
    if ids[0] == ids[1]:
        raise ValidationError({"duplicate": ["A customer cannot be merged into itself."]})
    # Fixed lock order (by id) so that two merges of the same pair cannot deadlock.
    rows = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    if ids[0] not in rows:
        raise Http404("No such customer.")
    if ids[1] not in rows:
        raise ValidationError({"duplicate": ["No such customer."]})
    survivor, duplicate = rows[ids[0]], rows[ids[1]]
    if survivor.merged_into_id is not None:
        raise CustomerMerged(survivor_id=survivor.merged_into_id)
    if duplicate.merged_into_id is not None:
        raise ValidationError({"duplicate": ["That customer was already merged."]})
    if survivor.kind != duplicate.kind:
        raise ValidationError({"duplicate": ["A person and an organisation cannot be merged."]})
    return survivor, duplicate


@transaction.atomic
def customer_merge(*, actor: Any, survivor_id: Any, duplicate_id: Any) -> Customer:
    """Merge `duplicate` into `survivor` in one transaction.

    Every reference declared in the apps' hooks (`merge_references`) is re-pointed;
    contact points, tags and consents are united; both timelines are kept; the
    duplicate stays as a tombstone whose id redirects to the survivor.
    """
    if actor is not None and not actor.has_perm("customers.merge_customer"):
        raise PermissionDenied("You may not merge customers.")
    survivor, duplicate = _lock_pair(survivor_id, duplicate_id)
    moved: dict[str, int] = {}
    for reference in plugin.merge_references():
        moved[f"{reference.model_label}.{reference.field_name}"] = (
            reference.repoint or _simple_repoint(reference)
        )(survivor, duplicate)
    survivor.tags.add(*duplicate.tags.all())
    # Fill what the survivor lacks; the survivor's own values win.
    merged_attributes = {**(duplicate.attributes or {}), **(survivor.attributes or {})}
    survivor.attributes = merged_attributes
    survivor.owner_id = survivor.owner_id or duplicate.owner_id
    survivor.parent_id = survivor.parent_id or (
        duplicate.parent_id if duplicate.parent_id != survivor.pk else None
    )
    erp_number = duplicate.erp_customer_number
    duplicate.merged_into = survivor
    duplicate.merged_at = timezone.now()
    duplicate.erp_customer_number = None
    duplicate.version += 1
    duplicate.save(update_fields=["merged_into", "merged_at", "erp_customer_number", "version", "updated_at"])
    if not survivor.erp_customer_number and erp_number:
        survivor.erp_customer_number = erp_number
    survivor.version += 1
    survivor.save()
    profile_changed(survivor)
    activity_record(
        customer_id=survivor.pk,
        kind=ActivityKind.MERGE,
        actor=actor,
        source_app="customers",
        subject=f"Merged {duplicate.display_name} (#{duplicate.pk}) into this customer",
        ref=duplicate,
        payload={"duplicate_id": duplicate.pk, "moved": moved, "erp_customer_number": erp_number},
    )
    return survivor


def own_merge_references() -> list[MergeReference]:
    """The profile's own foreign keys to Customer (declared in customers/hooks.py)."""
    return [
        MergeReference("customers.ContactPoint", "customer", "Contact points", _repoint_contact_points),
        MergeReference("customers.ConsentEvent", "customer", "Consents"),
        MergeReference("customers.Activity", "customer", "Timeline entries"),
        MergeReference(
            "customers.Relationship",
            "person",
            "Memberships",
            _repoint_relationships("person", "organisation"),
        ),
        MergeReference(
            "customers.Relationship",
            "organisation",
            "Members",
            _repoint_relationships("organisation", "person"),
        ),
        MergeReference("customers.Customer", "parent", "Subsidiaries", _repoint_subsidiaries),
        MergeReference("customers.Customer", "merged_into", "Earlier merges", _repoint_tombstones),
    ]
