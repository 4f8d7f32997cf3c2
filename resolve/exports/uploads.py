"""What an uploaded document may be: its type found from its content (not its name), and its size.

PDF, Word (.docx), JPEG and PNG; up to ``MAX_UPLOAD_BYTES``. A refusal names the field (``file``) and
says what to do.
"""

from __future__ import annotations

import io
import re
import zipfile

from resolve.core.errors import ServiceError
from resolve.core.limits import MAX_UPLOAD_BYTES

__all__ = ["ACCEPTED", "MAX_UPLOAD_BYTES", "TYPES", "filename_clean", "size_check", "upload_check"]

MAX_FILENAME = 150
TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (content type, the extensions it may carry)
    "PDF": ("application/pdf", (".pdf",)),
    "Word": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    "JPEG": ("image/jpeg", (".jpg", ".jpeg")),
    "PNG": ("image/png", (".png",)),
}
ACCEPTED = "a PDF, a Word document (.docx), a JPEG or a PNG"


def _refuse(message: str) -> ServiceError:
    return ServiceError("invalid", "invalid_file", message, "file")


def _kind(content: bytes) -> str | None:
    if content.startswith(b"%PDF-"):
        return "PDF"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if content.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "Word"
        except zipfile.BadZipFile:
            return None
    return None


def filename_clean(filename: str) -> str:
    """The name to keep: its last path part, letters, digits, spaces, dots, hyphens and underscores."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    name = re.sub(r"[^\w .\-]", "_", name)[:MAX_FILENAME].strip(" .")
    return name or "document"


def size_check(size: int) -> None:
    """Refuse an empty file or one over ``MAX_UPLOAD_BYTES`` (``ServiceError``, field ``file``)."""
    if size <= 0:
        raise _refuse("The file is empty: choose the document again.")
    if size > MAX_UPLOAD_BYTES:
        raise _refuse(
            f"The file is {size / 1_000_000:.1f} MB: upload a file of up to "
            f"{MAX_UPLOAD_BYTES // 1_000_000} MB (split a long document, or scan at a lower resolution)."
        )


def upload_check(*, filename: str, content: bytes) -> str:
    """The content type of an acceptable upload; ``ServiceError`` (field ``file``) otherwise."""
    size_check(len(content))
    kind = _kind(content)
    if kind is None:
        raise _refuse(f"The file must be {ACCEPTED}; this one is none of them.")
    content_type, extensions = TYPES[kind]
    if not filename_clean(filename).lower().endswith(extensions):
        raise _refuse(f"The file is a {kind} file but its name does not end in {' or '.join(extensions)}.")
    return content_type
