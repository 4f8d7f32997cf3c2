"""PDF documents from HTML and CSS (WeasyPrint): the form, the Director's briefing and the referral letter.

Not the chronology: a court bundle's chronology is hundreds of rows, and WeasyPrint's layout (its own
Python, many small steps for every row and cell) took twenty times the child's page for 200 events
whatever was tried, so the chronology is laid out by Typst (``resolve.exports.typeset``). These
documents are a few pages, and their HTML and CSS templates are the easiest for an authority to change.

Each document is a Django template under ``templates/exports/`` laid out by ``document.css`` (A4, GOV.UK
typography in Arial, the child and case number at the top of every page, "Page N of M" below). An
authority restyles them by putting its own ``exports/document.css`` (or any of the templates) in a
template folder listed before Resolve's (see docs/documents.md).

PDFs are written as PDF/UA-1: tagged, with the document's title and language (en-GB) set, and real
text, so screen readers and search read them.

Laying out is the cost, so what can be kept between documents is: each thread keeps one font
configuration (Fontconfig's list of fonts and Pango's font map, with the fonts it has opened) and the
parsed stylesheet, parsed again only when its text changes (an authority's own copy, a new release).
Python's cycle collector is paused while a document is laid out: WeasyPrint makes hundreds of
thousands of short-lived objects, and the collector's repeated passes over them (and over everything
else the process holds) cost more than a tenth of the time; what they leave is collected afterwards.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

PDF = "application/pdf"
PDF_VARIANT = "pdf/ua-1"
STYLESHEET = "exports/document.css"


class _Kept(threading.local):
    """Per thread (WeasyPrint's font map is not shared between threads), made on the thread's first
    document rather than when the module is imported."""

    fonts: FontConfiguration | None = None
    sheet_text: str = ""
    sheet: CSS | None = None


_kept = _Kept()


def _fonts() -> FontConfiguration:
    if _kept.fonts is None:
        _kept.fonts = FontConfiguration()
    return _kept.fonts


_pause_lock = threading.Lock()
_pausers = 0
_was_enabled = True


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cycle collector while any thread lays out a document, and restore it after the last.

    The collector is one per process, so threads count themselves in and out under a lock."""
    global _pausers, _was_enabled
    with _pause_lock:
        if _pausers == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausers += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pausers -= 1
            if _pausers == 0 and _was_enabled:
                gc.enable()


def html_render(template: str, context: dict[str, Any]) -> str:
    return render_to_string(template, context)


def stylesheet() -> CSS:
    """``exports/document.css``, found like a template so that an authority's own copy comes first.

    Given to WeasyPrint as a stylesheet rather than inlined: templates hold no inline style (the
    pages' Content-Security-Policy rule, checked for every template). Parsed once per thread while
    its text stays the same."""
    text = render_to_string(STYLESHEET)
    if _kept.sheet is None or text != _kept.sheet_text:
        _kept.sheet = CSS(string=text, font_config=_fonts())
        _kept.sheet_text = text
    return _kept.sheet


def pdf_render(template: str, context: dict[str, Any]) -> bytes:
    """The template as a tagged PDF; its ``<title>`` and ``<html lang>`` give the title and language."""
    html = html_render(template, context)
    sheet = stylesheet()
    with _collector_paused():
        document: bytes = HTML(string=html).write_pdf(
            stylesheets=[sheet], font_config=_fonts(), pdf_variant=PDF_VARIANT
        )
    return document
