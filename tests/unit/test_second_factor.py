"""The rules of the second factor (grants/accounts/second_factor.py): which codes are accepted when, replay,
clock skew, recovery codes, who must use it and when a fresh check is due. Pure: the time is a parameter."""

import pyotp
import pytest

from grants.accounts import second_factor as rules
from grants.accounts.second_factor import ACCEPTED, MALFORMED, REPLAYED, SKEWED, WRONG

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # 15 s into a step
STEP = int(NOW // 30)


def code(offset=0, secret=SECRET):
    return pyotp.TOTP(secret).at(NOW + offset * 30)


def test_the_code_of_now_is_accepted_with_its_step():
    check = rules.check_code(SECRET, code(), NOW)
    assert check.outcome == ACCEPTED and check.step == STEP and check.offset == 0 and check.accepted


def test_codes_are_pyotps_own():
    assert rules.code_for_step(SECRET, STEP) == pyotp.TOTP(SECRET).at(STEP * 30)


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_either_side_is_accepted(offset):
    check = rules.check_code(SECRET, code(offset), NOW)
    assert check.outcome == ACCEPTED and check.step == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2, -10, 10])
def test_a_code_further_off_is_refused_as_a_wrong_clock(offset):
    check = rules.check_code(SECRET, code(offset), NOW)
    assert check.outcome == SKEWED and check.offset == offset and not check.accepted


def test_a_code_of_long_ago_is_simply_wrong():
    assert rules.check_code(SECRET, code(-11), NOW).outcome in (WRONG, SKEWED)
    assert rules.check_code(SECRET, pyotp.TOTP(SECRET).at(NOW - 3600), NOW).outcome == WRONG


def test_the_window_edges_follow_the_step_not_the_seconds():
    start_of_step = STEP * 30.0
    assert rules.check_code(SECRET, pyotp.TOTP(SECRET).at(start_of_step - 30), start_of_step).accepted
    assert rules.check_code(SECRET, pyotp.TOTP(SECRET).at(start_of_step - 60), start_of_step).outcome == SKEWED
    end_of_step = start_of_step + 29.999
    assert rules.check_code(SECRET, pyotp.TOTP(SECRET).at(end_of_step + 30), end_of_step).accepted
    assert rules.check_code(SECRET, pyotp.TOTP(SECRET).at(end_of_step + 60), end_of_step).outcome == SKEWED


def test_a_code_is_refused_the_second_time_within_its_window():
    first = rules.check_code(SECRET, code(), NOW)
    assert first.accepted
    again = rules.check_code(SECRET, code(), NOW + 20, last_step=first.step)
    assert again.outcome == REPLAYED and not again.accepted


def test_a_code_of_a_step_before_the_last_accepted_one_is_refused_too():
    assert rules.check_code(SECRET, code(-1), NOW, last_step=STEP).outcome == REPLAYED
    assert rules.check_code(SECRET, code(0), NOW, last_step=STEP + 1).outcome == REPLAYED


def test_the_next_step_is_accepted_after_the_last():
    assert rules.check_code(SECRET, code(1), NOW, last_step=STEP).accepted


def test_another_secrets_code_is_wrong():
    other = pyotp.random_base32()
    assert rules.check_code(SECRET, code(secret=other), NOW).outcome in (WRONG, SKEWED)  # 1 in 50 000 to match


def test_a_near_miss_is_wrong():
    right = code()
    near = f"{(int(right) + 1) % 1_000_000:06d}"
    assert rules.check_code(SECRET, near, NOW).outcome in (WRONG, SKEWED)


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_what_is_not_six_digits_is_malformed(typed):
    assert rules.check_code(SECRET, typed, NOW).outcome == MALFORMED


def test_spaces_and_dashes_in_a_code_are_ignored():
    right = code()
    assert rules.check_code(SECRET, f"{right[:3]} {right[3:]}", NOW).accepted
    assert rules.check_code(SECRET, f" {right[:3]}-{right[3:]} ", NOW).accepted


def test_new_secrets_are_random_base32_of_160_bits():
    first, second = rules.new_secret(), rules.new_secret()
    assert first != second and len(first) == 32
    pyotp.TOTP(first).now()  # a valid key for an app


def test_the_secret_is_grouped_for_typing():
    assert rules.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_the_provisioning_uri_names_issuer_and_account():
    uri = rules.provisioning_uri(SECRET, "kari@imdi.example", "IMDi tilskudd")
    assert uri.startswith("otpauth://totp/IMDi%20tilskudd:kari%40imdi.example?")
    assert f"secret={SECRET}" in uri and "issuer=IMDi%20tilskudd" in uri


# --- recovery codes ---------------------------------------------------------------------------------------------

def test_ten_different_recovery_codes_of_the_readable_alphabet():
    codes = rules.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    for one in codes:
        raw = one.replace("-", "")
        assert len(raw) == 10 and set(raw) <= set(rules.RECOVERY_ALPHABET), one
        assert not rules.looks_like_totp(one)


def test_a_recovery_code_hashes_the_same_however_it_is_typed():
    assert rules.hash_recovery_code("abcde-fghjk") == rules.hash_recovery_code(" ABCDE FGHJK ")
    assert rules.hash_recovery_code("abcde-fghjk") != rules.hash_recovery_code("abcde-fghjm")
    assert len(rules.hash_recovery_code("abcde-fghjk")) == 64 and "abcde" not in rules.hash_recovery_code("abcde")


# --- who, and when again ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["reviewer", "caseworker", "approver", "admin"])
def test_every_imdi_role_needs_it_by_default(role):
    assert rules.required_for(role, "reviewer,caseworker,approver,admin")


def test_kommune_staff_never_need_it_even_if_named():
    assert not rules.required_for("municipal", "municipal, admin")


def test_the_roles_setting_takes_commas_spaces_or_a_list():
    assert rules.parse_roles(" admin, approver caseworker ") == {"admin", "approver", "caseworker"}
    assert rules.parse_roles(["admin"]) == {"admin"}
    assert not rules.required_for("reviewer", "admin approver")
    assert not rules.required_for("admin", "")


def test_a_check_is_fresh_until_the_configured_minutes_have_passed():
    assert not rules.needs_fresh_check(NOW, NOW, 15)
    assert not rules.needs_fresh_check(NOW - 15 * 60 + 1, NOW, 15)
    assert rules.needs_fresh_check(NOW - 15 * 60, NOW, 15)
    assert rules.needs_fresh_check(NOW - 3600, NOW, 15)


def test_no_check_in_the_session_needs_one():
    assert rules.needs_fresh_check(None, NOW, 15)


def test_zero_minutes_asks_every_time():
    assert rules.needs_fresh_check(NOW, NOW, 0)


def test_a_check_in_the_future_is_not_trusted():
    assert rules.needs_fresh_check(NOW + 120, NOW, 15)
