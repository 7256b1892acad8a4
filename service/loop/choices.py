"""Choices of the service loop."""

from __future__ import annotations

from django.db import models

from service.choices import CaseCategory


class FollowUpKind(models.TextChoices):
    ORDER_DELAYED = "order_delayed", "Order delayed"
    PROBLEM_RESOLVED = "problem_resolved", "Problem resolved"
    OTHER = "other", "Other"


# A problem is about what its cases are about.
ProblemCategory = CaseCategory


class BackOfficeTeam(models.TextChoices):
    BILLING = "billing", "Billing"
    WAREHOUSE = "warehouse", "Warehouse"
    LOGISTICS = "logistics", "Logistics"
    PRODUCT = "product", "Product"


class ProblemStatus(models.TextChoices):
    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    RESOLVED = "resolved", "Resolved"


OPEN_PROBLEM_STATUSES = (ProblemStatus.OPEN, ProblemStatus.INVESTIGATING)
# Where a problem goes by default, from its category.
DEFAULT_TEAM = {
    ProblemCategory.PRODUCT: BackOfficeTeam.PRODUCT,
    ProblemCategory.DELIVERY: BackOfficeTeam.LOGISTICS,
    ProblemCategory.BILLING: BackOfficeTeam.BILLING,
    ProblemCategory.STAFF: BackOfficeTeam.WAREHOUSE,
    ProblemCategory.OTHER: BackOfficeTeam.WAREHOUSE,
}
