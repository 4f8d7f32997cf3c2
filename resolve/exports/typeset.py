"""The child's chronology as a PDF laid out by Typst rather than WeasyPrint.

Why the chronology differs from the other documents (the form, the briefing, the referral letter, all
still WeasyPrint, ``resolve.exports.pdf``): its length. A court bundle's chronology is hundreds of rows,
and WeasyPrint's layout of a 200-event chronology took about 0.66 s, twenty times the child's page,
after every option it has was tried (docs/performance.md). Typst lays out the same document, tagged
(PDF/UA-1) with its title and language, in a fraction of that.

The template is ``exports/chronology.typ``, found like any template, so an authority's own copy in a
template folder listed before Resolve's comes first (docs/documents.md). The chronology goes into it as
JSON data (``sys.inputs.chronology``), never as Typst markup: whatever a person typed prints as written.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any, Final

import typst
from django.template import Engine, TemplateDoesNotExist
from django.utils import dateformat, timezone

from resolve.exports.selectors import Chronology, ChronologyChallenge, ChronologyRow, FormAction

OWN_FOLDER = Path(__file__).resolve().parents[2] / "templates" / "exports"
PDF = "application/pdf"
PDF_STANDARD: Final = "ua-1"
TEMPLATE = "exports/chronology.typ"
INPUT = "chronology"


class _Kept(threading.local):
    """Per thread: the fonts (the system's, found once) and a compiler that keeps them."""

    fonts: typst.Fonts | None = None
    compiler: typst.Compiler | None = None


_kept = _Kept()


def _compiler() -> typst.Compiler:
    if _kept.compiler is None:
        _kept.fonts = typst.Fonts(include_system_fonts=True, include_embedded_fonts=True)
        _kept.compiler = typst.Compiler(font_paths=_kept.fonts)
    return _kept.compiler


def template_source(name: str = TEMPLATE) -> tuple[bytes, Path]:
    """The template's text and folder, from the first template folder that has it (an authority's own
    folder, listed first, before Resolve's), looked for as Django looks for templates but read as a
    file, not rendered as a Django template."""
    for loader in Engine.get_default().template_loaders:
        for origin in loader.get_template_sources(name):
            path = Path(origin.name)
            if path.is_file():
                return path.read_bytes(), path.parent
    raise TemplateDoesNotExist(name)


def _date(value: dt.date | dt.datetime, style: str) -> str:
    return dateformat.format(value, style)


def chronology_data(chronology: Chronology) -> dict[str, Any]:
    """Everything the template shows, as strings (dates written out as on the other documents)."""
    assert chronology.produced_on is not None
    produced_on = _date(timezone.localtime(chronology.produced_on), "j F Y, H:i")
    produced = f"By {chronology.produced_by} on {produced_on}"
    return {
        "title": f"Chronology of challenges: {chronology.child_name} ({chronology.case_number})",
        "authority": "Independent Reviewing Officer and Child Protection Chair challenges",
        "child_name": chronology.child_name,
        "case_number": chronology.case_number,
        "produced_by": chronology.produced_by,
        "produced_on": produced_on,
        "running_child": f"{chronology.child_name} · Case number {chronology.case_number}",
        "running_produced": f"Produced by {chronology.produced_by} on {produced_on} from Resolve",
        "details": [
            ["Child", chronology.child_name],
            ["Case number", chronology.case_number],
            ["Date of birth", _date(chronology.date_of_birth, "j F Y")],
            ["Social worker", f"{chronology.social_worker}, {chronology.team}"],
            ["Produced", produced],
        ],
        "challenges": [
            {
                "number": c.number,
                "procedure": c.procedure,
                "raised_on": _date(c.raised_on, "j M Y"),
                "status": c.status,
                "stages": [
                    {"stage": stage, "entered": entered, "people": people, "due": due, "response": response}
                    for stage, entered, people, due, response in c.stages
                ],
                "actions": [
                    {
                        "action": a.action,
                        "by_whom": a.by_whom,
                        "by_when": _date(a.by_when, "j M Y"),
                        "status": a.status,
                    }
                    for a in c.actions
                ],
                "outcome": c.outcome,
            }
            for c in chronology.challenges
        ],
        "rows": [
            {
                "on": _date(row.on, "j M Y"),
                "what": row.what,
                "challenge": row.challenge,
                "stage": row.stage,
                "by": row.by,
                "detail": row.detail,
                "told": row.told,
            }
            for row in chronology.rows
        ],
        "evidence": [
            {"chain": chain, "links": links, "digest": digest} for chain, links, digest in chronology.evidence
        ],
    }


# Typst's refusal to write PDF/UA-1 text that no font on the server can show (PDF/UA forbids it).
_NOT_DISPLAYABLE = "could not be displayed with font"


def chronology_pdf(chronology: Chronology) -> bytes:
    """The chronology as a tagged PDF/UA-1 document, its title and language (en-GB) set.

    PDF/UA-1 forbids text that no font can show. A chronology can hold such text (an emoji pasted
    into a concern, a name in a script the server has no font for, a control character): it is then
    laid out again without the PDF/UA-1 claim, still tagged, titled and in English, the character
    shown as an empty box, as WeasyPrint's documents show it, rather than the download failing.
    Installing a font that has the character (docs/deploying.md) keeps such a chronology PDF/UA-1."""
    source, folder = template_source()
    assert chronology.produced_on is not None
    arguments: dict[str, Any] = {
        "input": source,
        # The template reads files (a logo) from its own folder and below, nothing else on the server.
        "root": folder,
        "format": "pdf",
        "sys_inputs": {INPUT: json.dumps(chronology_data(chronology))},
        "timestamp": chronology.produced_on.replace(microsecond=0),
    }
    try:
        document = _compiler().compile(**arguments, pdf_standards=[PDF_STANDARD])
    except typst.TypstError as error:
        if _NOT_DISPLAYABLE not in str(error):
            raise
        document = _compiler().compile(**arguments)
    assert isinstance(document, bytes)
    return document


def sample_chronology() -> Chronology:
    """A short chronology with every field filled, for checking a template before anyone downloads."""
    day = dt.date(2026, 1, 5)
    return Chronology(
        child_name="Sample Child",
        case_number="SAMPLE1",
        date_of_birth=dt.date(2014, 3, 9),
        social_worker="Sample Social Worker",
        team="Sample Team",
        challenges=[
            ChronologyChallenge(
                number="Challenge 1",
                procedure="Sample procedure",
                raised_on=day,
                status="Resolved",
                stages=[("Informal", "5 January 2026", "A Manager", "12 January 2026", "Agreed. On time")],
                actions=[FormAction(action="Visit", by_when=day, by_whom="A Worker", status="Done")],
                outcome="Resolved.\nA second line.",
            )
        ],
        rows=[
            ChronologyRow(
                on=day,
                challenge="Challenge 1",
                what="Challenge raised",
                stage="Informal",
                detail="The concern.\nA second line.",
                by="An IRO",
                told="To A Manager; response due 12 January 2026",
            )
        ],
        evidence=[("challenge:1", 1, "0" * 64)],
        produced_by="Sample Producer",
        produced_on=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
    )
