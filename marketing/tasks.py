"""Celery tasks of marketing: thin, they take ids and call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from frontoffice.actors import SCHEDULER
from frontoffice.errors import DomainError
from frontoffice.write_path import enqueue_on_commit
from marketing.choices import CampaignStatus
from marketing.models import Campaign

DUE_BATCH = 20
log = logging.getLogger(__name__)


@shared_task(name="marketing.lead_score_recompute", acks_late=True)
def lead_score_recompute(customer_id: int) -> None:
    """Recompute one customer's lead score (a few queries)."""
    from marketing.capture.scoring import SCORING, score_recompute

    score_recompute(actor=SCORING, customer_id=int(customer_id))


@shared_task(name="marketing.lead_scores_due", acks_late=True)
def lead_scores_due() -> int:
    """Beat, hourly: recompute the stored lead scores older than a day (decay), at most
    REFRESH_BATCH per run (a few queries each); re-enqueues itself while a run finds a
    full batch. Idempotent: a score recomputed twice is the same score."""
    from marketing.capture.scoring import REFRESH_BATCH, SCORING, scores_refresh_due

    refreshed = scores_refresh_due(actor=SCORING)
    if refreshed == REFRESH_BATCH:
        enqueue_on_commit(lead_scores_due)
    return refreshed


@shared_task(name="marketing.campaign_send", acks_late=True, rate_limit="30/m")
def campaign_send(campaign_id: int) -> int:
    """Send one batch (BATCH members) of a running campaign; re-enqueue while members
    remain pending. Idempotent: a retried or duplicated run sends nobody twice."""
    from marketing.campaigns.sending import BATCH, CAMPAIGN_SENDER, campaign_send_batch, send_on_commit

    handled = campaign_send_batch(actor=CAMPAIGN_SENDER, campaign_id=int(campaign_id))
    if handled == BATCH:
        send_on_commit(int(campaign_id))
    return handled


@shared_task(name="marketing.campaigns_due", acks_late=True)
def campaigns_due() -> int:
    """Beat, every minute: launch scheduled campaigns whose start has come and complete
    running ones whose end has passed (at most DUE_BATCH of each per run). Each campaign
    on its own: one that can no longer be launched (emptied, its end passed, a conflict)
    goes back to draft with the reason on it, and the others still move. Returns how
    many were launched or completed."""
    now = timezone.now()
    moved = 0
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, starts_at__lte=now).order_by(
        "starts_at", "pk"
    )
    for pk in list(due.values_list("pk", flat=True)[:DUE_BATCH]):
        moved += _launch_due(pk)
    ended = Q(status=CampaignStatus.RUNNING, ends_at__isnull=False, ends_at__lte=now)
    for pk in list(
        Campaign.objects.filter(ended).order_by("ends_at", "pk").values_list("pk", flat=True)[:DUE_BATCH]
    ):
        moved += _complete_ended(pk)
    return moved


def _launch_due(pk: int) -> int:
    from marketing.campaigns.services import campaign_launch_due

    return int(campaign_launch_due(actor=SCHEDULER, campaign_id=pk))


def _complete_ended(pk: int) -> int:
    from marketing.campaigns.services import campaign_complete

    try:
        campaign_complete(actor=SCHEDULER, campaign_id=pk)
    except (DomainError, Http404) as exc:  # completed, cancelled or deleted meanwhile
        log.info("Ended campaign %s not completed: %s", pk, exc)
        return 0
    return 1


@shared_task(name="marketing.conversions_sweep", acks_late=True)
def conversions_sweep() -> int:
    """Beat: mark converted the members whose campaign sourced an opportunity of theirs."""
    from marketing.campaigns.responses import TRACKING, conversions_sweep

    return conversions_sweep(actor=TRACKING)
