"""Data: a won opportunity is worth what its accepted quote sold (its net subtotal).

Before, accepting a quote won the opportunity and left its amount as typed (often 0.00
when the quote held the lines). The service now sets it; this brings existing rows in
line. Reversing keeps the corrected amounts (the old ones were wrong, not a state to
return to)."""

from __future__ import annotations

from django.db import migrations
from django.db.models import OuterRef, Subquery


def amounts_from_accepted_quotes(apps, schema_editor):  # type: ignore[no-untyped-def]
    Opportunity = apps.get_model("sales", "Opportunity")
    Quote = apps.get_model("sales", "Quote")
    accepted = Quote.objects.filter(opportunity=OuterRef("pk"), status="accepted").order_by("-pk")
    won = Opportunity.objects.filter(status="won").annotate(sold=Subquery(accepted.values("subtotal")[:1]))
    stale = won.exclude(sold=None).exclude(amount=Subquery(accepted.values("subtotal")[:1]))
    for opportunity_id, sold in stale.values_list("pk", "sold").iterator(chunk_size=1000):
        Opportunity.objects.filter(pk=opportunity_id).update(amount=sold)


class Migration(migrations.Migration):
    dependencies = [("sales", "0009_quote_email_delivery")]

    operations = [migrations.RunPython(amounts_from_accepted_quotes, migrations.RunPython.noop)]
