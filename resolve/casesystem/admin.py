"""The administrator's page for importing from the case system, and the record of past imports.

"Import from the case system" (the add page of *Imports*) takes the export's files and a mapping,
and shows the dry run's report row by row; applying imports the export whole or not at all. Each
run, dry or applied, is listed with its report. Those who may add children and manage reference
data (the administrator) see it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from resolve.access.permissions import Perm, user_has_perm
from resolve.casesystem.mapping import MappingError, mapping_keys, mapping_load
from resolve.casesystem.models import ImportRun
from resolve.casesystem.services import records_import
from resolve.core.errors import ServiceError

MAX_FILES = 10


class _MultipleFiles(forms.ClearableFileInput):
    allow_multiple_selected = True


class _FilesField(forms.FileField):
    widget = _MultipleFiles

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data]
        cleaned = [super(_FilesField, self).clean(item, initial) for item in files if item]
        if not cleaned:
            raise forms.ValidationError("Choose the export's files (CSV or XLSX).")
        if len(cleaned) > MAX_FILES:
            raise forms.ValidationError(f"Choose at most {MAX_FILES} files at a time.")
        return cleaned


class ImportForm(forms.Form):
    mapping = forms.ChoiceField(
        choices=[(key, key) for key in mapping_keys()],
        help_text="How the case system's export reads (docs/case-system.md).",
    )
    export = _FilesField(
        label="Export files",
        help_text="CSV files or an XLSX workbook, 1 MB in all; larger exports go through "
        "'manage.py import_records'.",
    )
    apply = forms.BooleanField(
        required=False,
        label="Import now",
        help_text="Leave unticked for a dry run, which shows what would change and writes nothing.",
    )


def _may_import(request: HttpRequest) -> bool:
    return user_has_perm(user=request.user, perm=Perm.ADD_CHILDREN) and user_has_perm(
        user=request.user, perm=Perm.MANAGE_REFERENCE_DATA
    )


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["at", "by", "mapping", "outcome", "created", "changed", "unchanged", "refused"]
    list_filter = ["outcome"]
    readonly_fields = [
        "at", "by", "mapping", "files", "outcome", "created", "changed", "unchanged", "refused", "report",
    ]  # fmt: skip

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_import(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_import(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_import(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not _may_import(request):
            return HttpResponse(status=403)
        form = ImportForm(request.POST or None, request.FILES or None)
        report = None
        refusal = None
        if request.method == "POST" and form.is_valid():
            try:
                report = records_import(
                    user=request.user,  # type: ignore[arg-type]
                    mapping=mapping_load(form.cleaned_data["mapping"]),
                    files=[
                        (upload.name or "export", upload.read()) for upload in form.cleaned_data["export"]
                    ],
                    apply=form.cleaned_data["apply"],
                )
            except (MappingError, ServiceError) as error:
                refusal = error.message if isinstance(error, ServiceError) else str(error)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import from the case system",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "report_lines": [
                line
                for line in (report.lines(changes_only=True)[:2000] if report else [])
                if not line.startswith("Nothing can")
            ],
            "refusal": refusal,
        }
        return TemplateResponse(request, "admin/casesystem/import_form.html", context)
