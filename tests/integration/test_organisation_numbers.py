"""Importing the kommuner's organisation numbers (grants.accounts.register.import_organisation_numbers) into the
register: the file fills what is missing, a number an administrator recorded stays, and a reset (the tests do one
between tests) puts the file's numbers back."""

from grants.accounts.register import import_organisation_numbers, read_organisation_numbers
from grants.extensions import db
from tests.factories import municipality

HARAM_BY_HAND = "900000006"  # a valid MOD11 number not in the file, as an administrator would type one


def test_the_import_fills_what_is_missing_and_keeps_what_an_administrator_recorded(app):
    from stdnum.no import orgnr

    assert orgnr.is_valid(HARAM_BY_HAND) and HARAM_BY_HAND not in read_organisation_numbers().values()
    oslo, bergen, haram = municipality("0301"), municipality("4601"), municipality("1580")
    assert (oslo.organisation_number, haram.organisation_number) == ("958935420", None)
    oslo.organisation_number = None
    haram.organisation_number = HARAM_BY_HAND
    db.session.commit()

    assert import_organisation_numbers() == 1  # Oslo's again; Haram's recorded number is not the file's to undo
    db.session.expire_all()
    assert (oslo.organisation_number, bergen.organisation_number, haram.organisation_number) == (
        "958935420", "964338531", HARAM_BY_HAND)
    assert import_organisation_numbers() == 0  # nothing left to do

    assert import_organisation_numbers(reset=True) == 1
    db.session.expire_all()
    assert haram.organisation_number is None and oslo.organisation_number == "958935420"


def test_two_kommuner_swapping_numbers_never_meet_in_the_unique_index(app):
    oslo, bergen = municipality("0301"), municipality("4601")
    oslo.organisation_number, bergen.organisation_number = None, None
    db.session.flush()
    oslo.organisation_number = "964338531"  # Bergen's number on Oslo, as a mistake would put it
    db.session.commit()
    assert import_organisation_numbers(reset=True) == 2
    db.session.expire_all()
    assert (oslo.organisation_number, bergen.organisation_number) == ("958935420", "964338531")
