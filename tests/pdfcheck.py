"""Reading the PDFs back in tests: their text (pypdf), their language, and their accessibility checked with the
PDF/UA checker from PyPI (``pdfua``) and, for what it does not check, with pikepdf over the structure tree."""

import io
import re
import tempfile
from pathlib import Path

import pikepdf
import pypdf


def pdf_text(pdf):
    """All text of ``pdf`` (bytes) as a reader extracts it, page after page."""
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def plain(text):
    """Whitespace (line ends, no-break spaces) as single spaces, to compare text however the lines broke."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " ")).strip()


def pdf_lang(pdf):
    """The document language (/Lang of the catalog)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return str(document.Root.get("/Lang", ""))


def _roles(node, found):
    if isinstance(node, pikepdf.Array):
        for kid in node:
            _roles(kid, found)
    elif isinstance(node, pikepdf.Dictionary):
        role = node.get("/S")
        if role is not None:
            found.append((str(role), node))
        kids = node.get("/K")
        if kids is not None:
            _roles(kids, found)


def _has_content(node):
    kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else node
    if isinstance(kids, int):
        return True
    if isinstance(kids, pikepdf.Array):
        return any(_has_content(kid) if not isinstance(kid, int) else True for kid in kids)
    if isinstance(kids, pikepdf.Dictionary):
        return kids.get("/Type") == pikepdf.Name("/MCR") or _has_content(kids)
    return False


def structure(pdf):
    """The structure types (roles) of the tagged PDF in document order, role-mapped to the standard types."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        tree = document.Root.StructTreeRoot
        role_map = {str(k): str(v) for k, v in (tree.get("/RoleMap") or {}).items()}
        found = []
        _roles(tree.get("/K"), found)
        return [role_map.get(role, role) for role, _node in found]


def accessibility_problems(pdf):
    """What keeps ``pdf`` (bytes) from being an accessible PDF/UA-1 document, as a list of strings (empty: none).

    First the PyPI checker ``pdfua`` (its errors and warnings); then what it leaves out, read with pikepdf: the
    catalog marks the file as tagged (/MarkInfo /Marked true) with a structure tree, a language and a title shown as
    the window's title (/ViewerPreferences /DisplayDocTitle); the XMP metadata names PDF/UA part 1
    (pdfuaid:part); headings are there, start at H1, skip no level and none is empty; every table has header
    cells (TH)."""
    from pdfua import Severity, validate

    problems = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf)
        report = validate(str(path))
    problems += [f"pdfua {f.rule_id}: {f.message}" for f in report.findings if f.severity >= Severity.WARNING]
    # pdfua 0.1.3's empty-heading rule (UA-14-001) stops on pikepdf 10's arrays; the headings are checked below.
    problems += [f"pdfua could not check {o.rule_id}: {o.skipped_reason}" for o in report.skipped
                 if o.rule_id != "UA-14-001"]

    with pikepdf.open(io.BytesIO(pdf)) as document:
        root = document.Root
        if not bool(root.get("/MarkInfo", {}).get("/Marked", False)):
            problems.append("not marked as tagged (/MarkInfo /Marked)")
        if "/StructTreeRoot" not in root:
            problems.append("no structure tree")
        if not str(root.get("/Lang", "")):
            problems.append("no document language (/Lang)")
        if not bool(root.get("/ViewerPreferences", {}).get("/DisplayDocTitle", False)):
            problems.append("the title is not shown as the window's title (DisplayDocTitle)")
        meta = document.open_metadata()
        if not str(meta.get("dc:title", "")).strip():
            problems.append("no title in the metadata (dc:title)")
        if str(meta.get("pdfuaid:part", "")) != "1":
            problems.append("no PDF/UA-1 identification in the XMP metadata (pdfuaid:part)")
        if "/StructTreeRoot" in root:
            found = []
            tree = root.StructTreeRoot
            role_map = {str(k): str(v) for k, v in (tree.get("/RoleMap") or {}).items()}
            _roles(tree.get("/K"), found)
            levels = []
            for role, node in found:
                role = role_map.get(role, role)
                if re.fullmatch(r"/H[1-6]", role):
                    levels.append(int(role[2]))
                    if not _has_content(node):
                        problems.append(f"empty heading {role}")
            if not levels or levels[0] != 1:
                problems.append(f"the headings do not start at H1: {levels[:3]}")
            if any(later > earlier + 1 for earlier, later in zip(levels, levels[1:], strict=False)):
                problems.append(f"a heading level is skipped: {levels}")
            roles = [role_map.get(role, role) for role, _node in found]
            if roles.count("/Table") > roles.count("/TH") or ("/Table" in roles and "/TH" not in roles):
                problems.append("a table without header cells (TH)")
    return problems
