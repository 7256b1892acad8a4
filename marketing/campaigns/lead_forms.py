"""Changing a campaign's public lead form (its name, texts, and whether it takes
submissions); making one and what a submission does: marketing.capture.services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from frontoffice.actors import Actor
from frontoffice.write_path import authorize, bump_version, check_version, clean_text, lock
from marketing.models import LeadForm


@transaction.atomic
def lead_form_update(
    *, actor: Actor, lead_form_id: int, expected_version: int | None, **fields: Any
) -> LeadForm:
    """Rename a lead form, change its consent or thank-you text, or deactivate it
    (`active` false: the public form takes nothing more) or activate it again."""
    form = lock(LeadForm, lead_form_id, what="lead form")
    authorize(actor, "marketing.change_leadform", message="You may not change lead forms.")
    check_version(form, expected_version)
    errors: dict[str, list[str]] = {}
    unknown = set(fields) - {"name", "consent_text", "thank_you", "active"}
    if unknown:
        errors["non_field_errors"] = [f"Unknown fields: {', '.join(sorted(unknown))}."]
    if "name" in fields:
        form.name = clean_text(errors, "name", fields["name"], 100)
        if not form.name and "name" not in errors:
            errors["name"] = ["Name the form."]
    for field in ("consent_text", "thank_you"):
        if field in fields:
            text = clean_text(errors, field, fields[field], 300)
            if not text and field not in errors:
                errors[field] = ["Write the text the form shows."]
            setattr(form, field, text)
    if "active" in fields:
        if not isinstance(fields["active"], bool):
            errors["active"] = ["Expected true or false."]
        else:
            form.active = fields["active"]
    if errors:
        raise ValidationError(errors)
    bump_version(form)
    form.save()
    return form
