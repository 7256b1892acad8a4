"""Bases for every app's admin: read-only mirrors and ledgers, and optimistic locking.

`ReadOnlyAdmin`: rows written only by services (ledgers, the ERP's mirrors) are shown,
never added, changed or deleted by hand. `VersionedModelAdmin`: optimistic locking in the Django admin, for configuration models with a `version`
(the API's ETag / If-Match): the change form carries the version it was loaded at in a
hidden field, saving over someone else's change in the meantime is refused with a form
error, and every save moves the version on, so that an API client holding the old ETag
gets 412 instead of overwriting the admin's change (and the other way round)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from frontoffice.write_path import Versioned, as_id

M = TypeVar("M", bound=Model)

# django-stubs makes ModelAdmin and ModelForm generic for the type checker only (Django
# gives them no __class_getitem__): at run time these bases add it, so that an app may
# write `VersionedModelAdmin[Pipeline]`.
if TYPE_CHECKING:
    ModelAdminOf = admin.ModelAdmin
    AnyModelForm = forms.ModelForm[Any]
else:

    class ModelAdminOf(admin.ModelAdmin, Generic[M]):
        pass

    AnyModelForm = forms.ModelForm

STALE_MESSAGE = (
    "Someone changed this since you opened it: reload the page and make your change again "
    "(nothing was saved)."
)


class VersionedForm(AnyModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned is None:  # a clean() that returns None keeps cleaned_data (Django's rule)
            cleaned = self.cleaned_data
        if self.instance.pk is not None:
            # The admin's change view runs in one transaction: the row stays locked from
            # here until the change (and its inlines) are saved, so no one slips in between.
            current = (
                type(self.instance)
                ._default_manager.select_for_update()
                .filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current is not None and cleaned.get("version") != current:
                raise ValidationError(STALE_MESSAGE, code="stale_version")
        return cleaned


class VersionedModelAdmin(ModelAdminOf[M]):
    """A ModelAdmin whose saves check and move on the model's `version`."""

    form = VersionedForm

    def save_model(self, request: HttpRequest, obj: M, form: Any, change: bool) -> None:
        # Inlines (stages, items) belong to the versioned row: every save moves it on.
        row = cast(Versioned, obj)  # the models this admin serves have a `version`
        row.version = row.version + 1 if change else 1
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(ModelAdminOf[M]):
    """Look, do not touch: every field read-only, no add, change or delete."""

    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: M | None = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False


class HistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's admin (the audit history of a row), where an id that cannot
    be one (`abc`, `²`, a version that is not a number) is a 404: simple-history passes
    it straight to the query, which raises a 500."""

    def _check_object_id(self, object_id: str) -> None:
        pk = self.model._meta.pk
        value = unquote(object_id)
        try:
            pk.to_python(value)
        except (ValidationError, ValueError, TypeError):
            raise Http404("No such object.") from None
        if isinstance(pk, models.IntegerField) and as_id(value) is None:  # "²", beyond a bigint
            raise Http404("No such object.")

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._check_object_id(object_id)
        response: HttpResponse = super().history_view(request, object_id, extra_context)
        return response

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self._check_object_id(object_id)
        if as_id(version_id) is None:
            raise Http404("No such version.")
        response: HttpResponse = super().history_form_view(request, object_id, version_id, extra_context)
        return response
