"""PDF documents from HTML and CSS (WeasyPrint): the form, the Director's briefing and the chronology.

Each document is a Django template under ``templates/exports/`` laid out by ``document.css`` (A4, GOV.UK
typography in Arial, the child and case number at the top of every page, "Page N of M" below). An
authority restyles them by putting its own ``exports/document.css`` (or any of the templates) in a
template folder listed before Resolve's (see docs/documents.md).

PDFs are written as PDF/UA-1: tagged, with the document's title and language (en-GB) set, and real
text, so screen readers and search read them.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from weasyprint import CSS, HTML

PDF = "application/pdf"
PDF_VARIANT = "pdf/ua-1"
STYLESHEET = "exports/document.css"


def html_render(template: str, context: dict[str, Any]) -> str:
    return render_to_string(template, context)


def stylesheet() -> CSS:
    """``exports/document.css``, found like a template so that an authority's own copy comes first.

    Given to WeasyPrint as a stylesheet rather than inlined: templates hold no inline style (the
    pages' Content-Security-Policy rule, checked for every template)."""
    return CSS(string=render_to_string(STYLESHEET))


def pdf_render(template: str, context: dict[str, Any]) -> bytes:
    """The template as a tagged PDF; its ``<title>`` and ``<html lang>`` give the title and language."""
    html = html_render(template, context)
    document: bytes = HTML(string=html).write_pdf(stylesheets=[stylesheet()], pdf_variant=PDF_VARIANT)
    return document
