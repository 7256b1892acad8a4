"""Writes of segments: create and change, the rules validated (and compiled once) first."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from frontoffice.actors import Actor, user_of
from frontoffice.write_path import authorize, bump_version, check_version, clean_text, lock
from marketing.models import Segment
from marketing.segments.rules import compile_rules

NOT_GIVEN: Any = object()


def _apply(segment: Segment, *, name: Any, description: Any, rules: Any) -> None:
    errors: dict[str, list[str]] = {}
    if name is not NOT_GIVEN:
        segment.name = clean_text(errors, "name", name, 100)
        if not segment.name and "name" not in errors:
            errors["name"] = ["Name the segment."]
    if description is not NOT_GIVEN:
        segment.description = clean_text(errors, "description", description, 500)
    if rules is not NOT_GIVEN:
        try:
            compile_rules(rules)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
        segment.rules = rules if rules is not None else {}
    if errors:
        raise ValidationError(errors)


def _save(segment: Segment) -> None:
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise ValidationError({"name": ["Another segment has this name."]}) from None


@transaction.atomic
def segment_create(*, actor: Actor, name: str, rules: Any, description: str = "") -> Segment:
    """A new segment; its rules are refused with the path of each fault."""
    authorize(actor, "marketing.add_segment", message="You may not create segments.")
    segment = Segment(owner=user_of(actor))
    _apply(segment, name=name, description=description, rules=rules)
    _save(segment)
    return segment


@transaction.atomic
def segment_update(
    *,
    actor: Actor,
    segment_id: int,
    expected_version: int | None,
    name: Any = NOT_GIVEN,
    description: Any = NOT_GIVEN,
    rules: Any = NOT_GIVEN,
) -> Segment:
    """Change what is given; a launched campaign keeps the audience it snapshotted."""
    segment = lock(Segment, segment_id, what="segment")
    authorize(actor, "marketing.change_segment", message="You may not change segments.")
    check_version(segment, expected_version)
    _apply(segment, name=name, description=description, rules=rules)
    bump_version(segment)
    _save(segment)
    return segment
