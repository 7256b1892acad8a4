"""The survey page customers reach from our e-mail (no login)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from service.loop import csat


class AnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        label="How did we do?",
        choices=[
            (n, f"{n} - {label}")
            for n, label in ((5, "great"), (4, "good"), (3, "fine"), (2, "poor"), (1, "bad"))
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="Anything to add?", widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=2000
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def csat_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        survey = csat.survey_read(token)
    except csat.SurveyRefused as refused:
        return render(request, "service/loop/csat.html", {"error": refused.detail}, status=400)
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            csat.csat_answer(
                token=token, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except (csat.SurveyRefused, ValidationError) as refused:
            message = (
                refused.detail if isinstance(refused, csat.SurveyRefused) else " ".join(refused.messages)
            )
            return render(request, "service/loop/csat.html", {"error": message}, status=400)
        return render(request, "service/loop/csat.html", {"thanks": True})
    status = 400 if form.is_bound else 200
    return render(request, "service/loop/csat.html", {"survey": survey, "form": form}, status=status)
