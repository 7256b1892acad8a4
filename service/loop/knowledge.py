"""Canned responses and knowledge-base articles: written by supervisors, searched by
agents and inserted into a case (a canned response becomes a reply or a note, its
placeholders filled in for the case's customer by the outbound room's renderer)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from customers.outbound import rendering
from customers.outbound.services import preview
from frontoffice.actors import Actor
from frontoffice.write_path import audit, authorize, bump_version, check_version, clean_text, lock
from service import services as case_services
from service.loop.choices import ProblemCategory
from service.loop.models import Article, CannedResponse
from service.models import Case

MAX_RESULTS = 20


def _fields(
    errors: dict[str, list[str]],
    row: Article | CannedResponse,
    fields: dict[str, Any],
    limits: dict[str, int],
) -> None:
    for name, limit in limits.items():
        if name in fields:
            text = clean_text(errors, name, fields[name], limit)
            if name in ("title", "body") and not text:
                errors.setdefault(name, []).append(f"Write the {name}.")
            if name == "body":
                errors.setdefault(name, []).extend(rendering.template_problems(text))
                if not errors[name]:
                    del errors[name]
            setattr(row, name, text)
    if "category" in fields:
        if fields["category"] not in ("", *ProblemCategory.values):
            errors["category"] = [f"Choose one of: {', '.join(ProblemCategory.values)}, or none."]
        else:
            row.category = fields["category"]
    for flag in ("is_active", "is_published"):
        if flag in fields:
            if not isinstance(fields[flag], bool):
                errors[flag] = ["Expected true or false."]
            else:
                setattr(row, flag, fields[flag])


ARTICLE_LIMITS = {"title": 200, "body": 50000, "keywords": 300}
CANNED_LIMITS = {"title": 120, "body": 10000}


@transaction.atomic
def article_create(*, actor: Actor, **fields: Any) -> Article:
    authorize(actor, "service.add_article", message="You may not write articles.")
    article = Article()
    errors: dict[str, list[str]] = {}
    _fields(errors, article, {"title": "", "body": "", **fields}, ARTICLE_LIMITS)
    if errors:
        raise ValidationError(errors)
    audit(article, actor)
    article.save()
    return article


@transaction.atomic
def article_update(*, actor: Actor, article_id: int, expected_version: int | None, **fields: Any) -> Article:
    authorize(actor, "service.change_article", message="You may not change articles.")
    article = lock(Article, article_id, what="article")
    check_version(article, expected_version)
    errors: dict[str, list[str]] = {}
    _fields(errors, article, fields, ARTICLE_LIMITS)
    if errors:
        raise ValidationError(errors)
    bump_version(article)
    audit(article, actor)
    article.save()
    return article


@transaction.atomic
def canned_create(*, actor: Actor, **fields: Any) -> CannedResponse:
    authorize(actor, "service.add_cannedresponse", message="You may not write canned responses.")
    canned = CannedResponse()
    errors: dict[str, list[str]] = {}
    _fields(errors, canned, {"title": "", "body": "", **fields}, CANNED_LIMITS)
    if errors:
        raise ValidationError(errors)
    canned.save()
    return canned


@transaction.atomic
def canned_update(
    *, actor: Actor, canned_id: int, expected_version: int | None, **fields: Any
) -> CannedResponse:
    authorize(actor, "service.change_cannedresponse", message="You may not change canned responses.")
    canned = lock(CannedResponse, canned_id, what="canned response")
    check_version(canned, expected_version)
    errors: dict[str, list[str]] = {}
    _fields(errors, canned, fields, CANNED_LIMITS)
    if errors:
        raise ValidationError(errors)
    bump_version(canned)
    canned.save()
    return canned


def search_words(queryset: QuerySet[Any], q: str, fields: tuple[str, ...]) -> QuerySet[Any]:
    for word in (q or "").split()[:5]:
        match = Q()
        for field in fields:
            match |= Q(**{f"{field}__icontains": word[:50]})
        queryset = queryset.filter(match)
    return queryset


def article_search(*, q: str = "", category: str = "", published_only: bool = True) -> QuerySet[Article]:
    """Articles whose title, keywords or text hold every word of `q` (one query)."""
    queryset = Article.objects.all()
    if published_only:
        queryset = queryset.filter(is_published=True)
    if category:
        queryset = queryset.filter(category=category)
    return search_words(queryset, q, ("title", "keywords", "body")).order_by("title", "id")


def canned_search(*, q: str = "", category: str = "") -> QuerySet[CannedResponse]:
    queryset = CannedResponse.objects.filter(is_active=True)
    if category:
        queryset = queryset.filter(Q(category=category) | Q(category=""))
    return search_words(queryset, q, ("title", "body")).order_by("title", "id")


def canned_render(*, canned: CannedResponse, case: Case) -> str:
    """The canned text for the case's customer, {{ case.reference }} and {{ case.subject }} too."""
    result = preview(
        customer=case.customer_id,
        subject=canned.title,
        body=canned.body,
        context={"case": {"reference": case.reference, "subject": case.subject}},
    )
    return str(result["body"])


def canned_insert(
    *,
    actor: Actor,
    canned_id: int,
    case_id: int,
    visibility: str = "public",
    expected_version: int | None = None,
) -> Case:
    """Insert a canned response into a case as a reply (or an internal note)."""
    canned = CannedResponse.objects.filter(pk=canned_id, is_active=True).first()
    case = Case.objects.filter(pk=case_id).first()
    if canned is None or case is None:
        raise ValidationError({"case" if case is None else "canned": ["Not found."]})
    return case_services.case_note_add(
        actor=actor,
        case_id=case.pk,
        body=canned_render(canned=canned, case=case),
        visibility=visibility,
        expected_version=expected_version,
    )
