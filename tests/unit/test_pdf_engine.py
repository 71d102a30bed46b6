"""The PDF engine's own rules (grants.core.pdf): what a character no shipped font has becomes, and that a process
forked after its parent made a PDF still makes one (Typst's export keeps a thread pool a fork does not carry)."""

import os
import signal
import sys

import pytest

from grants.core import pdf


def test_every_character_a_font_has_is_kept_and_the_rest_get_a_visible_mark():
    kept = "Søknad áčđŋšŧž مرحبا 🙂 👍🏽 e\u0301 \u200d\ufe0f\u00a0\t\n"
    assert pdf.printable(kept) == kept
    assert pdf.printable("a中b") == "a[U+4E2D]b"
    assert pdf.printable("\x00\x07\ud800") == "[U+0000][U+0007][U+D800]"
    assert pdf.printable("x\r\ny\rz") == "x\ny\nz"
    assert pdf.visible_mark("\U0001F642") == "[U+1F642]"
    assert 0x1F642 in pdf.covered_characters() and 0x4E2D not in pdf.covered_characters()


def test_the_fonts_come_from_installed_packages():
    folders = pdf.font_folders()
    assert all(folder.is_dir() and "site-packages" in str(folder) for folder in folders)
    assert len(pdf.covered_characters()) > 5000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_process_forked_after_a_pdf_was_made_makes_pdfs_too():
    blocks = [pdf.Block("paragraph", "Hei")]
    made = pdf.document_pdf("Før", blocks, lang="nb", author="IMDi", row_headers=("Opplysning", "Innhold"))
    assert made.startswith(b"%PDF")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        signal.alarm(60)  # a hang ends the child, and the parent sees no PDF
        code = 1
        try:
            made = pdf.document_pdf("Etter", blocks, lang="nn", author="IMDi", row_headers=("Opplysning", "Innhald"))
            os.write(write, made[:5])
            code = 0
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(write)
    _pid, status = os.waitpid(child, 0)
    assert os.read(read, 5) == b"%PDF-" and os.waitstatus_to_exitcode(status) == 0
    os.close(read)
