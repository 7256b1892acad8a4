"""Pages of the closed loop: per-team problem queues for the back office, a problem with
its cases (link, resolve), "likely systemic" on a case, the voice of the customer."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from frontoffice.forms import ServiceForm
from service.loop import problems, selectors
from service.loop.choices import BackOfficeTeam, ProblemCategory
from service.models import Case


class ResolveForm(ServiceForm):
    root_cause = forms.CharField(label="Root cause", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    fix = forms.CharField(label="Fix", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    inform_customers = forms.BooleanField(label="E-mail the customers that it is fixed", required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class LinkForm(ServiceForm):
    case_ids = forms.CharField(label="Case ids (comma-separated)", required=False)
    error_aliases = {"cases": "case_ids"}

    def ids(self) -> list[str]:
        return [
            part.strip().removeprefix("C-").lstrip("0")
            for part in self.cleaned_data["case_ids"].split(",")
            if part.strip()
        ]


class FlagForm(ServiceForm):
    category = forms.ChoiceField(label="Category", choices=ProblemCategory.choices)
    product = forms.CharField(label="Product (SKU)", max_length=64, required=False)
    note = forms.CharField(label="Why", max_length=500, required=False)


class OpenProblemForm(ServiceForm):
    title = forms.CharField(label="Problem", max_length=200, required=False)
    team = forms.ChoiceField(label="Route to", choices=BackOfficeTeam.choices)


@require_safe
@permission_required("service.view_problem", raise_exception=True)
def problem_queue(request: HttpRequest, team: str | None = None) -> HttpResponse:
    if team is not None and team not in BackOfficeTeam.values:
        raise Http404("No such team.")
    state = request.GET.get("status", "open")
    items = selectors.problem_list(team=team, status=state if state in ("open", "resolved") else None)[:200]
    context = {
        "problems": items,
        "team": team,
        "team_label": BackOfficeTeam(team).label if team else "All teams",
        "teams": BackOfficeTeam.choices,
        "open_counts": selectors.open_problem_count_by_team(),
        "state": state,
    }
    return render(request, "service/loop/problem_queue.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("service.view_problem", raise_exception=True)
def problem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    problem = selectors.problem_get(problem_id=pk)
    resolve = ResolveForm(initial={"version": problem.version, "root_cause": problem.root_cause})
    link = LinkForm()
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "resolve":
            resolve = ResolveForm(request.POST)
            if resolve.is_valid():
                data = resolve.cleaned_data
                done = resolve.submit(
                    lambda: problems.problem_resolve(
                        actor=request.user,
                        problem_id=problem.pk,
                        fix=data["fix"],
                        root_cause=data["root_cause"],
                        inform_customers=data["inform_customers"],
                        expected_version=data["version"],
                    )
                )
                if done is not None:
                    messages.success(
                        request, f"{done.reference} resolved; {done.customers_informed} customer(s) e-mailed."
                    )
                    return redirect("service:problem_detail", done.pk)
        else:
            link = LinkForm(request.POST)
            if link.is_valid():
                done = link.submit(
                    lambda: problems.problem_link_cases(
                        actor=request.user, problem_id=problem.pk, case_ids=link.ids()
                    )
                )
                if done is not None:
                    messages.success(request, "Cases linked.")
                    return redirect("service:problem_detail", done.pk)
        status = 412 if resolve.stale else 400
    context = {"problem": problem, "resolve": resolve, "link": link}
    return render(request, "service/loop/problem_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required("service.add_systemicflag", raise_exception=True)
def case_systemic(request: HttpRequest, pk: int) -> HttpResponse:
    """Flag a case "likely systemic"; see the suggested problem; link it, or open one."""
    case = Case.objects.select_related("customer").filter(pk=pk).first()
    if case is None:
        raise Http404("No such case.")
    flag = getattr(case, "systemic_flag", None)
    form = FlagForm(
        request.POST if request.method == "POST" and "category" in request.POST else None,
        initial={"category": case.category},
    )
    open_form = OpenProblemForm(
        request.POST if request.method == "POST" and "title" in request.POST else None,
        initial={"title": case.subject},
    )
    status = 200
    if form.is_bound and form.is_valid():
        flag = form.submit(
            lambda: problems.case_flag_systemic(actor=request.user, case_id=case.pk, **form.cleaned_data)
        )
        if flag is not None:
            messages.success(request, "Flagged as likely systemic.")
            return redirect("service:case_systemic", case.pk)
        status = 400
    if open_form.is_bound and open_form.is_valid():
        category = flag.category if flag else case.category
        opened = open_form.submit(
            lambda: problems.problem_open(
                actor=request.user,
                title=open_form.cleaned_data["title"],
                team=open_form.cleaned_data["team"],
                category=category,
                product=flag.product_id if flag else None,
                case_ids=[case.pk],
            )
        )
        if opened is not None:
            messages.success(request, f"Problem {opened.reference} opened.")
            return redirect("service:problem_detail", opened.pk)
        status = 400
    suggestion = (
        problems.problem_suggestion(category=flag.category, product=flag.product_id) if flag else None
    )
    link = getattr(case, "problem_link", None)
    context = {
        "case": case,
        "flag": flag,
        "form": form,
        "open_form": open_form,
        "suggestion": suggestion,
        "link": link,
    }
    return render(request, "service/loop/case_systemic.html", context, status=status)


@require_POST
@permission_required("service.add_problemcase", raise_exception=True)
def case_link_suggestion(request: HttpRequest, pk: int, problem_pk: int) -> HttpResponse:
    try:
        problems.problem_link_cases(actor=request.user, problem_id=problem_pk, case_ids=[pk])
        messages.success(request, "Case linked to the problem.")
    except ValidationError as exc:  # shown; nothing written
        messages.error(request, " ".join(exc.messages))
    return redirect("service:case_systemic", pk)


@require_safe
@permission_required("service.view_problem", raise_exception=True)
def voice_of_customer(request: HttpRequest) -> HttpResponse:
    return render(request, "service/loop/voice.html", {"voice": selectors.voice_of_customer()})
