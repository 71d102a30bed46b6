"""The 360Giving file of a published summary is valid against the 360Giving Data Standard's own JSON schemas
(the package schema and the grant schema it refers to, vendored in tests/data/360giving with their source;
tests/giving360.py),
with formats checked: a date-time that is not one, or a URL that is not one, fails."""

import json
from copy import deepcopy
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator

from grants.outcomes import exports
from tests.giving360 import GRANT, PACKAGE, errors
from tests.unit.test_export_files import _grant

DATA = {
    "round": {"id": 7, "year": 2025, "title_nb": "Mangfold 2025", "title_en": "Diversity 2025",
              "deadline_date": "2025-02-19", "scheme": "mot-rasisme"},
    "grants": [_grant(), _grant(reference="2025-0002", municipality_number="4601", municipality="Bergen",
                                county_number="46", county="Vestland", partners=[], summary="",
                                title="=HYPERLINK(\"x\")", decided_at=None)],
}
SUMMARY = SimpleNamespace(version=2, published_at=datetime(2025, 4, 30, 22, 15, tzinfo=UTC), data=DATA)
FOLLOW_UP = {"2025-0001": SimpleNamespace(paid=100_000, repaid=0, report="due")}


def test_the_vendored_schemas_are_themselves_valid_json_schemas():
    assert Draft202012Validator.FORMAT_CHECKER.conforms("2025-04-30", "date-time") is False  # formats are checked
    Draft202012Validator.check_schema(PACKAGE)
    Draft202012Validator.check_schema(GRANT)
    assert PACKAGE["properties"]["grants"]["items"]["$ref"] == GRANT["$id"]


def test_the_360giving_file_is_valid_against_the_standards_schema():
    package = json.loads(exports.to_360giving(SUMMARY, "https://tilskudd.example", FOLLOW_UP))
    assert errors(package) == []
    assert len(package["grants"]) == 2


@pytest.mark.parametrize("break_it", [
    lambda p: p["grants"][0].pop("recipientOrganization"),
    lambda p: p["grants"][0].update(amountAwarded="250000"),
    lambda p: p["grants"][0].update(currency="KR"),
    lambda p: p["grants"][0].update(awardDate="2. mars 2025"),
    lambda p: p["grants"][0].update(dateModified="2025-04-30"),
    lambda p: p["grants"][0]["grantProgramme"][0].update(url="not a url"),
    lambda p: p.update(grants=[]),
], ids=["no recipient", "amount as text", "currency not ISO 4217", "date in words", "date-time without time",
        "url that is none", "no grants"])
def test_the_check_can_fail(break_it):
    package = json.loads(exports.to_360giving(SUMMARY, "https://tilskudd.example", FOLLOW_UP))
    broken = deepcopy(package)
    break_it(broken)
    assert errors(broken), "the schema check let a broken file through"
