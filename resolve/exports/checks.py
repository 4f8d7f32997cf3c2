"""Start-up checks of an authority's own templates, so a wrong file is named at start-up rather than
failing the first download: the Word template (``RESOLVE_WORD_TEMPLATE``), a .docx Resolve can open
with every style the documents use; and its own chronology template (``exports/chronology.typ`` in a
template folder listed first), which must compile into a PDF/UA-1 document."""

from __future__ import annotations

import zipfile
from typing import Any

import typst
from django.core.checks import CheckMessage, Error, register
from django.template import TemplateDoesNotExist
from docx.opc.exceptions import PackageNotFoundError

from resolve.core.conf import conf
from resolve.exports.typeset import OWN_FOLDER, TEMPLATE, chronology_pdf, sample_chronology, template_source
from resolve.exports.word import STYLES_USED, template_missing_styles


@register()
def word_template_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    path = conf.word_template
    if not path:
        return []
    try:
        missing = template_missing_styles(path)
    except (OSError, PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        return [
            Error(
                f"RESOLVE_WORD_TEMPLATE ({path}) is not a Word document Resolve can open: {error}.",
                hint="Start from the built-in one: manage.py word_template ours.docx (docs/documents.md).",
                id="resolve.exports.E001",
            )
        ]
    if missing:
        return [
            Error(
                f"RESOLVE_WORD_TEMPLATE ({path}) has no style named {', '.join(repr(m) for m in missing)}.",
                hint=f"The documents use the styles {', '.join(STYLES_USED)}: add them in Word "
                "(Styles pane) or start from manage.py word_template ours.docx.",
                id="resolve.exports.E002",
            )
        ]
    return []


@register()
def chronology_template_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An authority's own chronology template is laid out once with a sample chronology; Resolve's
    own is left to its tests, so start-up costs nothing when there is none."""
    try:
        _, folder = template_source()
    except TemplateDoesNotExist:
        return [
            Error(
                f"No template folder has {TEMPLATE}.",
                hint="Resolve's own is in templates/exports/; an authority's copy goes in a folder "
                'listed first in TEMPLATES["DIRS"] (docs/documents.md).',
                id="resolve.exports.E003",
            )
        ]
    if folder.resolve() == OWN_FOLDER:
        return []
    try:
        chronology_pdf(sample_chronology())
    except typst.TypstError as error:
        return [
            Error(
                f"The chronology template {folder / 'chronology.typ'} does not lay out: {error.message}.",
                hint="Start again from Resolve's own templates/exports/chronology.typ and keep its "
                "#set document(title: ...) (PDF/UA-1 needs the title); see docs/documents.md.",
                id="resolve.exports.E004",
            )
        ]
    return []
