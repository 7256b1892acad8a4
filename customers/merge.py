"""Merging a duplicate customer into the one that is kept (the survivor).

Every app declares its foreign keys to Customer in its hooks (`merge_references`);
the merge re-points each of them in one transaction, unites what both records hold,
and leaves the duplicate as a tombstone whose id redirects to the survivor.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Model
from django.http import Http404
from django.utils import timezone

from customers.choices import ActivityKind
from customers.consent import current_consent_rebuild
from customers.events import CustomersMerged
from customers.guards import CustomerMerged
from customers.models import CurrentConsent, Customer, DuplicatePair, NameNeighbour, Relationship
from customers.services import profile_changed
from customers.timeline import activity_record
from frontoffice import events, plugin
from frontoffice.actors import Actor
from frontoffice.plugin import MergeReference
from frontoffice.write_path import audit, authorize, check_version


def _as_survivor_audits(row: Model, survivor: Customer) -> Model:
    """Name on `row`'s audit history whoever `customer_merge` named on the survivor's
    (a re-point callback is given the two customers, not the actor)."""
    for attribute in ("_history_user", "_change_reason"):
        if hasattr(survivor, attribute):
            setattr(row, attribute, getattr(survivor, attribute))
    return row


def _repoint_contact_points(survivor: Customer, duplicate: Customer) -> int:
    kept = {(cp.kind, cp.value): cp for cp in survivor.contact_points.all()}
    primary_kinds = {cp.kind for cp in kept.values() if cp.is_primary}
    moved = 0
    for cp in duplicate.contact_points.all():
        if (cp.kind, cp.value) in kept:
            _as_survivor_audits(cp, survivor).delete()
            continue
        cp.customer = survivor
        cp.is_primary = cp.is_primary and cp.kind not in primary_kinds
        if cp.is_primary:
            primary_kinds.add(cp.kind)
        _as_survivor_audits(cp, survivor).save(update_fields=["customer", "is_primary", "updated_at"])
        moved += 1
    return moved


def _repoint_relationships(field: str, other: str) -> Callable[[Customer, Customer], int]:
    def repoint(survivor: Customer, duplicate: Customer) -> int:
        taken = set(Relationship.objects.filter(**{field: survivor}).values_list(f"{other}_id", flat=True))
        # A relation between the two merged records, or one the survivor already has,
        # would become a self-relation or a duplicate: drop it.
        Relationship.objects.filter(**{field: duplicate, f"{other}_id__in": taken | {survivor.pk}}).delete()
        return Relationship.objects.filter(**{field: duplicate}).update(**{field: survivor})

    return repoint


def _repoint_subsidiaries(survivor: Customer, duplicate: Customer) -> int:
    return (
        Customer.objects.filter(parent=duplicate)
        .exclude(pk=survivor.pk)
        .update(parent=survivor, version=F("version") + 1)
    )


def _rebuild_current_consents(survivor: Customer, duplicate: Customer) -> int:
    # The ledger lines moved first (the reference before this one): the survivor's
    # current consents are derived again from all of them, the latest decision winning.
    moved = CurrentConsent.objects.filter(customer=duplicate).count()
    current_consent_rebuild(customer_ids=[survivor.pk, duplicate.pk])
    return moved


def _repoint_tombstones(survivor: Customer, duplicate: Customer) -> int:
    # Keep redirects one hop long: earlier tombstones now point at the survivor.
    return Customer.objects.filter(merged_into=duplicate).update(
        merged_into=survivor, version=F("version") + 1
    )


def _has_version(model: type[Model]) -> bool:
    return any(f.name == "version" for f in model._meta.concrete_fields)


def _simple_repoint(reference: MergeReference) -> Callable[[Customer, Customer], int]:
    """One UPDATE; a row with a `version` gets it bumped, so that a client holding its
    old ETag re-reads it before changing it (its customer changed)."""
    model = reference.model
    bump = {"version": F("version") + 1} if _has_version(model) else {}

    def repoint(survivor: Customer, duplicate: Customer) -> int:
        rows = model._default_manager.filter(**{reference.field_name: duplicate})
        return int(rows.update(**{reference.field_name: survivor}, **bump))

    return repoint


def _lock_pair(survivor_id: int, duplicate_id: int | str) -> tuple[Customer, Customer]:
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
def customer_merge(
    *, actor: Actor, survivor_id: int, duplicate_id: int | str, expected_version: int | None = None
) -> Customer:
    """Merge `duplicate` into `survivor` in one transaction.

    Every reference declared in the apps' hooks (`merge_references`) is re-pointed
    (rows with a `version` get it bumped); contact points, tags and consents are
    united; both timelines are kept; the duplicate stays as a tombstone whose id
    redirects to the survivor. `expected_version` is the survivor's version the merging
    person saw (StaleVersion otherwise; None checks nothing). Both customers' audit
    rows name the actor; `CustomersMerged` is published in the transaction.
    """
    authorize(actor, "customers.merge_customer", message="You may not merge customers.")
    survivor, duplicate = _lock_pair(survivor_id, duplicate_id)
    check_version(survivor, expected_version)
    # Every audit row the merge writes (both customers, moved contact points) names the actor.
    audit(survivor, actor)
    audit(duplicate, actor)
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
    taken_over = erp_number if erp_number and not survivor.erp_customer_number else None
    if taken_over:
        survivor.erp_customer_number = taken_over
    survivor.version += 1
    survivor.save()
    # The merge first, then the profile change: a subscriber that re-keys the ERP's
    # customer under the survivor does so before the survivor's own upsert follows.
    events.publish(
        CustomersMerged(survivor_id=survivor.pk, duplicate_id=duplicate.pk, erp_customer_number=taken_over)
    )
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
        MergeReference("customers.CurrentConsent", "customer", "Current consents", _rebuild_current_consents),
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
        # The duplicate's look-alike pairs go; the survivor's are re-derived from its
        # united contact points when the merge announces the profile change.
        MergeReference(
            "customers.DuplicatePair",
            "customer_a",
            "Duplicate pairs",
            _drop_pairs("customer_a"),
            derived=True,
        ),
        MergeReference(
            "customers.DuplicatePair",
            "customer_b",
            "Duplicate pairs",
            _drop_pairs("customer_b"),
            derived=True,
        ),
        # So do its names filed for the possible-duplicates panel; the survivor keeps its own.
        MergeReference("customers.NameNeighbour", "customer", "Filed names", _drop_names, derived=True),
    ]


def _drop_names(survivor: Customer, duplicate: Customer) -> int:
    deleted, _ = NameNeighbour.objects.filter(customer=duplicate).delete()
    return deleted


def _drop_pairs(field: str) -> Callable[[Customer, Customer], int]:
    def drop(survivor: Customer, duplicate: Customer) -> int:
        deleted, _ = DuplicatePair.objects.filter(**{field: duplicate}).delete()
        return deleted

    return drop
