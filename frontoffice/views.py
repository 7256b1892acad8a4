"""Pages of one's own account: "My API tokens" (password pages are Django's views)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from frontoffice import tokens
from frontoffice.actors import signed_in_user


class TokenForm(forms.Form):
    use_required_attribute = False  # errors are reported next to the field and in the summary

    name = forms.CharField(
        label="Name", max_length=tokens.MAX_NAME, help_text="What will use it, e.g. “ERP bridge”."
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=tokens.MAX_EXPIRY_DAYS,
        required=False,
        help_text="Empty: the default.",
    )


@require_http_methods(["GET", "HEAD", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """List one's tokens, and make one: the new token is shown on this answer only.

    No redirect after the POST: carrying the token to the next page would mean storing it
    (in the session) where only its digest should be.
    """
    created = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                instance, token = tokens.token_create(
                    actor=signed_in_user(request.user),
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                created = {"token": token, "instance": instance}
                form = TokenForm()
    else:
        form = TokenForm()
    context = {
        "form": form,
        "created": created,
        "tokens": tokens.token_list(actor=signed_in_user(request.user)),
        "default_days": tokens.default_expiry_days(),
    }
    response = render(request, "account/tokens.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # the new token must not linger in a cache
    return response


@require_POST
def token_revoke(request: HttpRequest, token_id: str) -> HttpResponse:
    tokens.token_revoke(actor=signed_in_user(request.user), token_id=token_id)
    messages.success(request, "Token revoked: clients using it are refused from now on.")
    return redirect("api_tokens")
