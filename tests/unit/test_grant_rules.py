"""The grant's own rules: the account number (MOD11, by python-stdnum) and the grant's life."""

from types import SimpleNamespace

import pytest

from grants.errors import InvalidTransition, ValidationFailed
from grants.followup.models import GRANT_LIFE, GrantState
from grants.followup.operations import account_number


@pytest.mark.parametrize("typed", ["86011117947", "8601 11 17947", "8601.11.17947", " 8601-11-17947 "])
def test_an_account_number_is_kept_as_its_eleven_digits(typed):
    assert account_number(typed) == "86011117947"


@pytest.mark.parametrize("typed", ["86011117948", "8601111794", "860111179470", "1234567", "abcdefghijk", "", None,
                                   "0000000000O"])
def test_an_account_number_that_fails_is_refused_beside_its_field(typed):
    with pytest.raises(ValidationFailed) as refused:
        account_number(typed)
    assert (refused.value.message, refused.value.detail) == ("account_number_invalid", {"field": "account_number"})


def test_a_grant_is_answered_once():
    for action, target in (("accept", GrantState.accepted), ("decline", GrantState.declined)):
        grant = SimpleNamespace(state=GrantState.offered)
        assert GRANT_LIFE.move(grant, action).target == target and grant.state == target
        for again in ("accept", "decline"):
            with pytest.raises(InvalidTransition):
                GRANT_LIFE.move(grant, again)


def test_a_report_version_is_sent_once_and_assessed_once():
    from grants.followup.models import REPORT_LIFE, ReportState

    for action, target in (("approve", ReportState.approved), ("return", ReportState.returned)):
        report = SimpleNamespace(state=ReportState.draft)
        with pytest.raises(InvalidTransition):
            REPORT_LIFE.move(report, action)  # a draft is not assessed
        REPORT_LIFE.move(report, "submit")
        assert REPORT_LIFE.move(report, action).target == target
        for again in ("submit", "approve", "return"):
            with pytest.raises(InvalidTransition):
                REPORT_LIFE.move(report, again)  # a version assessed stays as it was: changes go into the next
