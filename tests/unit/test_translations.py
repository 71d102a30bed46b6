"""Every user-facing string in the source has a bokmål and a nynorsk translation that keeps its placeholders,
and all three catalogs compile.

When a test here fails after you added or changed a string, update the catalogs (``make catalogues``: pybabel
extract and update) and translate the new entries. The extraction here reads the same folders as that target:
every folder but hidden ones and node_modules, so the form macros in templates/_macros are read too (pybabel
skips folders starting with "_" unless told which to ignore).
"""

import re
from fnmatch import fnmatch
from functools import cache
from gettext import GNUTranslations
from io import BytesIO
from pathlib import PurePath

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from grants import ROOT

TRANSLATIONS = ROOT / "grants" / "translations"
TRANSLATED = ["nb", "nn"]  # English msgids are the English text, so en may leave msgstr empty
LANGUAGES = ["nb", "nn", "en"]
# The same keywords as `pybabel extract -k _l -k lazy_gettext` (which adds them to babel's defaults).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# The folders `make catalogues` leaves out (its EXTRACT_IGNORE); nothing else.
IGNORED_DIRS = (".*", "node_modules")


def read_folder(path):
    """Whether the extraction reads the folder at ``path``: not a hidden folder, not node_modules."""
    return not any(fnmatch(PurePath(path).name, pattern) for pattern in IGNORED_DIRS)
PLACEHOLDER = re.compile(r"%(?:\((?P<name>\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@cache
def source_messages():
    """The messages `pybabel extract` finds in the tree as it is now, read in-process."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=read_folder):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return tuple(message for message in catalog if message.id)


@cache
def catalog(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


def forms(message):
    return message.string if isinstance(message.string, tuple) else (message.string,)


def english_forms(message):
    return message.id if isinstance(message.id, tuple) else (message.id,)


def placeholders(text):
    """The conversions in a %-format string, `%%` left out: {"%(name)s", "%(num)d", "%s", ...}."""
    return {match.group(0) for match in PLACEHOLDER.finditer(text or "") if match.group(0) != "%%"}


def translated_entries(lang):
    return [message for message in catalog(lang) if message.id and any(forms(message))]


def test_extraction_finds_the_strings():
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in source_messages()}
    assert len(ids) > 100
    assert "My applications" in ids  # a plain gettext in Python
    assert "Own contribution" in ids  # a lazy_gettext (_l) in a form
    assert "Check and submit" in ids  # a template string
    # The form macros' own words, in a folder whose name starts with "_" (pybabel's default skips such folders).
    assert {"(required)", "There is a problem", "Not provided"} <= ids


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_source_string_is_translated(lang):
    cat = catalog(lang)
    missing = []
    for message in source_messages():
        entry = cat.get(message.id, context=message.context)
        if (entry is None or entry.fuzzy or entry.pluralizable != message.pluralizable
                or not all(forms(entry))
                or (message.pluralizable and len(forms(entry)) != cat.num_plurals)):
            missing.append(message.id)
    assert not missing, (
        f"{len(missing)} source strings have no (complete, non-fuzzy) {lang} translation in "
        f"grants/translations/{lang}/LC_MESSAGES/messages.po. Run `make catalogues` (see the module "
        "docstring) and translate:\n" + "\n".join(repr(message_id) for message_id in missing))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_declares_two_plural_forms(lang):
    assert catalog(lang).num_plurals == 2


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_placeholders(lang):
    wrong = []
    for message in translated_entries(lang):
        english = english_forms(message)
        for index, text in enumerate(forms(message)):
            source = english[min(index, len(english) - 1)]
            if text and placeholders(text) != placeholders(source):  # empty forms are reported as missing
                wrong.append(f"{source!r} -> {text!r}")
    assert not wrong, f"{lang} translations whose placeholders differ from the msgid's:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_format_without_errors(lang):
    """A stray % in a translation of a string with placeholders would break at runtime."""
    broken = []
    for message in translated_entries(lang):
        names = {name for text in english_forms(message) for name in re.findall(r"%\((\w+)\)", text)}
        if not names and not message.pluralizable:
            continue
        values = dict.fromkeys(names | {"num"}, 1)
        for text in filter(None, forms(message)):
            try:
                text % values
            except (KeyError, ValueError, TypeError) as error:
                broken.append(f"{text!r}: {error}")
    assert not broken, f"{lang} translations that fail %-formatting:\n" + "\n".join(broken)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_passes_babels_checks(lang):
    problems = [f"{message.id!r}: {errors}" for message, errors in catalog(lang).check()]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_compiles(lang):
    buffer = BytesIO()
    write_mo(buffer, catalog(lang))
    buffer.seek(0)
    compiled = GNUTranslations(buffer)
    for message in translated_entries(lang):
        context = message.context
        if message.pluralizable:
            singular, plural = message.id
            for n, expected in ((1, message.string[0]), (2, message.string[1])):
                if not expected:
                    continue  # reported as missing; gettext falls back to the English form
                found = (compiled.npgettext(context, singular, plural, n) if context
                         else compiled.ngettext(singular, plural, n))
                assert found == expected
        else:
            found = compiled.pgettext(context, message.id) if context else compiled.gettext(message.id)
            assert found == message.string
