"""Every write of pipelines and their stages (admin configuration), and the default
pipeline every database has. One transaction per function, keyword-only arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from frontoffice.actors import Actor
from frontoffice.errors import Conflict
from frontoffice.write_path import as_id, authorize, bump_version, check_version, clean_text, lock
from sales.pipeline.models import Opportunity, Pipeline, Stage, StageKind
from sales.unset import UNSET, Unset, given

CONFIGURE_ONLY = "Only admins configure pipelines."

DEFAULT_STAGES = (
    ("Prospecting", 10, StageKind.OPEN),
    ("Qualification", 25, StageKind.OPEN),
    ("Proposal", 50, StageKind.OPEN),
    ("Negotiation", 75, StageKind.OPEN),
    ("Won", 100, StageKind.WON),
    ("Lost", 0, StageKind.LOST),
)


def ensure_default_pipeline(*, using: str = "default", **_: Any) -> None:
    """A `post_migrate` receiver: the data migration creates the default pipeline, but a
    flush (transactional tests, `manage.py flush`) empties the table and only re-runs
    post_migrate. Creates it only when there is no pipeline at all: admins' changes stay."""
    with transaction.atomic(using=using):
        if Pipeline.objects.using(using).exists():
            return
        pipeline = Pipeline.objects.using(using).create(name="Sales", is_default=True)
        Stage.objects.using(using).bulk_create(
            Stage(pipeline=pipeline, name=name, order=(i + 1) * 10, probability=probability, kind=kind)
            for i, (name, probability, kind) in enumerate(DEFAULT_STAGES)
        )


def default_pipeline() -> Pipeline:
    pipeline = (
        Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.filter(active=True).first()
    )
    if pipeline is None:
        raise Conflict("No pipeline is configured; an admin must create one.")
    return pipeline


def _clean_stages(items: Any) -> list[dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(items, list | tuple) or not items:
        raise ValidationError({"stages": ["A pipeline needs at least one stage."]})
    cleaned = []
    for index, item in enumerate(items):
        prefix = f"stages.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = ["Expected an object."]
            continue
        row_errors: dict[str, list[str]] = {}
        name = clean_text(row_errors, "name", item.get("name"), 100)
        if not name:
            row_errors.setdefault("name", []).append("A stage needs a name.")
        probability = item.get("probability")
        if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= 100:
            row_errors["probability"] = ["A probability is a whole number from 0 to 100."]
        kind = item.get("kind", StageKind.OPEN)
        if kind not in StageKind.values:
            row_errors["kind"] = [f"Choose one of: {', '.join(StageKind.values)}."]
        order = item.get("order", (index + 1) * 10)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 30000:
            row_errors["order"] = ["An order is a whole number from 0 to 30000."]
        for key, messages in row_errors.items():
            errors[f"{prefix}.{key}"] = messages
        cleaned.append(
            {
                "id": as_id(item.get("id")),
                "name": name,
                "probability": probability,
                "kind": kind,
                "order": order,
            }
        )
    if not errors:
        orders = [s["order"] for s in cleaned]
        names = [s["name"].lower() for s in cleaned]
        if len(set(orders)) != len(orders):
            errors["stages"] = ["Two stages have the same order."]
        elif len(set(names)) != len(names):
            errors["stages"] = ["Two stages have the same name."]
        elif not any(s["kind"] == StageKind.OPEN for s in cleaned):
            errors["stages"] = ["A pipeline needs at least one open stage."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def pipeline_demote_other_default(*, pipeline: Pipeline) -> None:
    """One default pipeline (a DB constraint): making `pipeline` default demotes the other,
    whose version moves on too (its ETag no longer describes it)."""
    if pipeline.is_default:
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(
            is_default=False, version=F("version") + 1, updated_at=timezone.now()
        )


def _save_pipeline(pipeline: Pipeline) -> None:
    pipeline_demote_other_default(pipeline=pipeline)
    try:
        with transaction.atomic():
            pipeline.save()
    except IntegrityError:
        raise ValidationError({"name": ["Another pipeline has this name."]}) from None


@transaction.atomic
def pipeline_create(
    *,
    actor: Actor,
    name: str,
    stages: Sequence[Mapping[str, Any]],
    is_default: bool = False,
    active: bool = True,
) -> Pipeline:
    """A pipeline with its stages ({name, probability, kind, order}); admins only."""
    authorize(actor, "sales.add_pipeline", message=CONFIGURE_ONLY)
    errors: dict[str, list[str]] = {}
    name = clean_text(errors, "name", name, 100)
    if not name:
        errors.setdefault("name", []).append("A pipeline needs a name.")
    cleaned: list[dict[str, Any]] = []
    try:
        cleaned = _clean_stages(list(stages))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    pipeline = Pipeline(name=name, is_default=bool(is_default), active=bool(active))
    _save_pipeline(pipeline)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, **{k: v for k, v in stage.items() if k != "id"}) for stage in cleaned
    )
    return pipeline


@transaction.atomic
def pipeline_update(
    *,
    actor: Actor,
    pipeline_id: int,
    expected_version: int | None,
    name: str | Unset = UNSET,
    is_default: bool | Unset = UNSET,
    active: bool | Unset = UNSET,
    stages: Sequence[Mapping[str, Any]] | Unset = UNSET,
) -> Pipeline:
    """Rename, (de)activate, make default, and replace the stages: a stage with an `id`
    is updated, one without is created, a missing one is deleted unless opportunities
    are in it (409). The pipeline's version moves on whatever changed, stages included."""
    authorize(actor, "sales.change_pipeline", message=CONFIGURE_ONLY)
    pipeline = lock(Pipeline, pipeline_id, what="pipeline")
    check_version(pipeline, expected_version)
    errors: dict[str, list[str]] = {}
    if given(name):
        pipeline.name = clean_text(errors, "name", name, 100)
        if not pipeline.name:
            errors.setdefault("name", []).append("A pipeline needs a name.")
    if given(is_default):
        pipeline.is_default = bool(is_default)
    if given(active):
        pipeline.active = bool(active)
    cleaned = None
    if given(stages):
        try:
            cleaned = _clean_stages(stages)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    existing = {s.pk: s for s in pipeline.stages.all()}
    if cleaned is not None:
        for index, stage in enumerate(cleaned):
            if stage["id"] is not None and stage["id"] not in existing:
                errors[f"stages.{index}.id"] = ["No such stage in this pipeline."]
    if errors:
        raise ValidationError(errors)
    bump_version(pipeline)
    _save_pipeline(pipeline)
    if cleaned is not None:
        _replace_stages(pipeline, cleaned, existing=set(existing))
    return pipeline


def _replace_stages(pipeline: Pipeline, cleaned: list[dict[str, Any]], *, existing: set[int]) -> None:
    kept = {s["id"] for s in cleaned if s["id"] is not None}
    removed = [pk for pk in existing if pk not in kept]
    if removed and Opportunity.objects.filter(stage_id__in=removed).exists():
        raise Conflict(
            "A stage you removed still has opportunities; move them first.",
            errors={"stages": ["A removed stage still has opportunities."]},
        )
    Stage.objects.filter(pk__in=removed).delete()
    # Orders are unique per pipeline: park the kept stages out of the way first, so
    # that swapping two stages' orders does not collide half-way.
    for index, pk in enumerate(sorted(kept)):
        Stage.objects.filter(pk=pk).update(order=32767 - index)
    for stage in cleaned:
        fields = {k: v for k, v in stage.items() if k != "id"}
        if stage["id"] is None:
            Stage.objects.create(pipeline=pipeline, **fields)
        else:
            Stage.objects.filter(pk=stage["id"]).update(**fields, updated_at=timezone.now())
