"""Shortening text to a limit without losing what tells the reader what it is."""

import os

ELLIPSIS = "…"


def shorten(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters; else its first characters and "…", ``limit`` in all, so the
    reader sees that something was cut. Cuts before a combining mark's base letter rather than between them."""
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    while cut > 0 and _is_combining(text[cut]):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def shorten_filename(name: str, limit: int) -> str:
    """A file name of at most ``limit`` characters that keeps its extension ("rapport.pdf" stays ".pdf"), since
    the extension says what kind of file it is. A name whose extension alone is too long is cut like any text."""
    if len(name) <= limit:
        return name
    stem, extension = os.path.splitext(name)
    if not stem or len(extension) > limit // 2:
        return shorten(name, limit)
    return shorten(stem, limit - len(extension)) + extension


def _is_combining(char):
    import unicodedata

    return unicodedata.combining(char) != 0


def N_(message):  # noqa: N802 - Babel's marker (extracted for the catalogues), translated where it is shown
    """Mark ``message`` (an English msgid) for extraction without translating it here: tables built at import time
    hold msgids, and the page that shows one passes it to gettext in the user's language."""
    return message
