"""Customer satisfaction after a resolution: a survey link (signed, one use, no login)
that lets the customer rate us 1-5 with a comment; the score lands on the case and on
the customer's timeline.

The link carries a signed token naming the survey and its nonce (`django.core.signing`,
salted for this purpose): a forged or altered token, one for another survey, an expired
or an already answered survey are refused with a clear message, and nothing is written.
The sweep (`csat_sweep`, every 10 minutes) sends one survey per resolution through the
outbound room, so a case resolved, reopened and resolved again gets a new one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from customers.outbound.models import MessageTemplate
from customers.outbound.services import send_to_customer
from customers.timeline import activity_record
from frontoffice.actors import SystemActor
from frontoffice.errors import DomainError
from frontoffice.write_path import authorize, clean_text
from service.choices import CaseStatus
from service.loop.models import CsatSurvey
from service.models import Case

SALT = "service.csat.survey"
VALID_DAYS = 14
SWEEP_BATCH = 200
CSAT_TEMPLATE = "csat-survey"
# Who records an answer: the customer, through the public link (no staff user).
SURVEY_FORM = SystemActor("satisfaction survey", permissions=frozenset({"service.change_csatsurvey"}))
SURVEY_SENDER = SystemActor("satisfaction surveys")


class CsatActivity:
    ANSWERED = "csat_answered"


class SurveyRefused(DomainError):
    code = "survey_refused"
    title = "This survey link cannot be used."


def survey_token(survey: CsatSurvey) -> str:
    return signing.dumps({"s": survey.pk, "n": survey.nonce}, salt=SALT, compress=True)


def survey_url(survey: CsatSurvey) -> str:
    base = str(getattr(settings, "SITE_URL", "") or "http://localhost:8000").rstrip("/")
    return base + reverse("service:csat_page", args=[survey_token(survey)])


def survey_read(token: str) -> CsatSurvey:
    """The survey a token names, still open; SurveyRefused otherwise (forged, altered,
    expired, answered)."""
    try:
        data = signing.loads(token or "", salt=SALT)
    except signing.BadSignature:
        raise SurveyRefused("This survey link is not valid: it may have been cut or altered.") from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("n"), str):
        raise SurveyRefused("This survey link is not valid.")
    survey = (
        CsatSurvey.objects.select_related("case", "customer").filter(pk=data["s"], nonce=data["n"]).first()
    )
    if survey is None:
        raise SurveyRefused("This survey link is not valid.")
    if survey.answered_at is not None:
        raise SurveyRefused("This survey was already answered: thank you!")
    if survey.expires_at < timezone.now():
        raise SurveyRefused("This survey link has expired.")
    return survey


@transaction.atomic
def csat_answer(
    *, actor: SystemActor = SURVEY_FORM, token: str, score: object, comment: str = ""
) -> CsatSurvey:
    """Record the customer's answer once: on the survey, the case and the timeline."""
    authorize(actor, "service.change_csatsurvey")
    survey = survey_read(token)
    errors: dict[str, list[str]] = {}
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        errors["score"] = ["Rate us from 1 to 5."]
    text = clean_text(errors, "comment", comment, 2000)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    # The claim: only one answer gets through, even when the form is sent twice at once.
    claimed = CsatSurvey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        answered_at=now, score=score, comment=text, updated_at=now
    )
    if claimed != 1:
        raise SurveyRefused("This survey was already answered: thank you!")
    Case.objects.filter(pk=survey.case_id).update(csat_score=score, updated_at=now)
    activity_record(
        customer_id=survey.customer_id,
        kind=CsatActivity.ANSWERED,
        actor=actor,
        source_app="service",
        subject=f"Rated case {survey.case.reference} {score}/5",
        body=text,
        ref=survey.case,
        payload={"case_id": survey.case_id, "score": score},
    )
    survey.refresh_from_db()
    return survey


@dataclass(frozen=True)
class CsatSweep:
    sent: int
    more: bool


def csat_sweep(*, actor: SystemActor = SURVEY_SENDER, batch_size: int = SWEEP_BATCH) -> CsatSweep:
    """A survey for every case resolved in the last `VALID_DAYS` days that has none since
    its resolution (one transaction per case)."""
    authorize(actor, "customers.add_outboundmessage")
    if not MessageTemplate.objects.filter(key=CSAT_TEMPLATE, is_active=True).exists():
        return CsatSweep(sent=0, more=False)
    now = timezone.now()
    surveyed = CsatSurvey.objects.filter(case=OuterRef("pk"), created_at__gte=OuterRef("resolved_at"))
    due = list(
        Case.objects.filter(
            Q(status=CaseStatus.RESOLVED) | Q(status=CaseStatus.CLOSED),
            resolved_at__gte=now - dt.timedelta(days=VALID_DAYS),
            resolved_at__lte=now,
        )
        .exclude(Exists(surveyed))
        .order_by("resolved_at", "pk")
        .values_list("pk", flat=True)[: batch_size + 1]
    )
    for case_id in due[:batch_size]:
        csat_survey_send(actor=actor, case_id=case_id)
    return CsatSweep(sent=min(len(due), batch_size), more=len(due) > batch_size)


@transaction.atomic
def csat_survey_send(*, actor: SystemActor = SURVEY_SENDER, case_id: int) -> CsatSurvey:
    """A new survey for a resolved case, e-mailed through the outbound room."""
    case = Case.objects.select_for_update().get(pk=case_id)
    now = timezone.now()
    survey = CsatSurvey.objects.create(
        case=case,
        customer_id=case.customer_id,
        nonce=secrets.token_hex(16),
        expires_at=now + dt.timedelta(days=VALID_DAYS),
    )
    send_to_customer(
        actor=actor,
        customer=case.customer_id,
        dedupe_key=f"case:{case.pk}:csat:{survey.pk}",
        template=CSAT_TEMPLATE,
        channel="email",
        context={
            "case": {"reference": case.reference, "subject": case.subject},
            "survey": {"url": survey_url(survey), "valid_days": VALID_DAYS},
        },
    )
    return survey
