"""The 360Giving Data Standard's own JSON schemas (vendored in tests/data/360giving, source and version in its
SOURCE.md), ready to check a package: ``errors(package)`` lists what the standard rejects, formats included (a
date-time that is not one, a URL that is not one)."""

import json
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).resolve().parent / "data" / "360giving"


def _load(name):
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


PACKAGE = _load("360-giving-package-schema.json")
GRANT = _load("360-giving-schema.json")
# The files name their dialect "http://json-schema.org/draft/2020-12/schema" (http, not the official https), so
# the dialect is given here rather than detected. Nothing is fetched: the package schema's $ref is the grant
# schema's $id, found in this registry.
REGISTRY = Registry().with_resource(GRANT["$id"], DRAFT202012.create_resource(GRANT))
# Format checks need rfc3339-validator (date-time) and rfc3986-validator (uri) installed (the test extra); without
# them jsonschema passes every string, and a plain date would match both branches of the standard's oneOf.
VALIDATOR = Draft202012Validator(PACKAGE, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(package):
    """What the 360Giving schema rejects in ``package`` (a parsed JSON document), as "path: message" lines."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(package)]
