"""Start-up check of an authority's Word template (``RESOLVE_WORD_TEMPLATE``): a .docx Resolve can
open, with every style the documents use, so a wrong file is named at start-up rather than failing
the first download."""

from __future__ import annotations

import zipfile
from typing import Any

from django.core.checks import CheckMessage, Error, register
from docx.opc.exceptions import PackageNotFoundError

from resolve.core.conf import conf
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
