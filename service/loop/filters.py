"""Filters of the problem queues (API and pages alike)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from service.loop.choices import BackOfficeTeam, ProblemCategory, ProblemStatus
from service.loop.models import Article, CannedResponse, Problem


class ProblemFilter(django_filters.FilterSet):
    team = django_filters.ChoiceFilter(choices=BackOfficeTeam.choices)
    category = django_filters.ChoiceFilter(choices=ProblemCategory.choices)
    status = django_filters.ChoiceFilter(
        choices=[("open", "Open or investigating"), *ProblemStatus.choices], method="filter_status"
    )

    class Meta:
        model = Problem
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[Problem], name: str, value: Any) -> QuerySet[Problem]:
        if value == "open":
            return queryset.exclude(status=ProblemStatus.RESOLVED)
        return queryset.filter(status=value)


class ArticleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", max_length=200, label="Words in the title, keywords or text"
    )
    category = django_filters.ChoiceFilter(choices=ProblemCategory.choices)

    class Meta:
        model = Article
        fields: list[str] = []

    def search(self, queryset: QuerySet[Article], name: str, value: str) -> QuerySet[Article]:
        from service.loop.knowledge import search_words

        return search_words(queryset, value, ("title", "keywords", "body"))


class CannedResponseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", max_length=200, label="Words in the title or text")
    category = django_filters.ChoiceFilter(choices=ProblemCategory.choices, method="filter_category")

    class Meta:
        model = CannedResponse
        fields: list[str] = []

    def search(self, queryset: QuerySet[CannedResponse], name: str, value: str) -> QuerySet[CannedResponse]:
        from service.loop.knowledge import search_words

        return search_words(queryset, value, ("title", "body"))

    def filter_category(
        self, queryset: QuerySet[CannedResponse], name: str, value: str
    ) -> QuerySet[CannedResponse]:
        return queryset.filter(Q(category=value) | Q(category=""))
