"""Celery tasks of marketing: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from frontoffice.actors import SCHEDULER
from frontoffice.write_path import enqueue_on_commit
from marketing.choices import CampaignStatus
from marketing.models import Campaign

DUE_BATCH = 20


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
    running ones whose end has passed (at most DUE_BATCH of each per run)."""
    from marketing.campaigns.launch import campaign_launch
    from marketing.campaigns.services import campaign_complete

    now = timezone.now()
    moved = 0
    for pk in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, starts_at__lte=now).values_list(
        "pk", flat=True
    )[:DUE_BATCH]:
        campaign_launch(actor=SCHEDULER, campaign_id=pk)
        moved += 1
    ended = Q(status=CampaignStatus.RUNNING, ends_at__isnull=False, ends_at__lte=now)
    for pk in Campaign.objects.filter(ended).values_list("pk", flat=True)[:DUE_BATCH]:
        campaign_complete(actor=SCHEDULER, campaign_id=pk)
        moved += 1
    return moved


@shared_task(name="marketing.conversions_sweep", acks_late=True)
def conversions_sweep() -> int:
    """Beat: mark converted the members whose campaign sourced an opportunity of theirs."""
    from marketing.campaigns.responses import TRACKING, conversions_sweep

    return conversions_sweep(actor=TRACKING)
