import pytest

from grants.accounts.passwords import password_problem
from grants.core.urls import safe_next


@pytest.mark.parametrize("password, problem", [
    ("short", "too_short"), ("x" * 129, "too_long"), ("password123", "too_common"), ("Passord123", "too_common"),
    ("ola@kommune.no", "same_as_email"), ("a long sentence about grants", None),
])
def test_password_rules(password, problem):
    assert password_problem(password, "ola@kommune.no") == problem


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "\\\\evil", "", None,
    "http:/evil", "/ok\r\nSet-Cookie: x",
])
def test_safe_next_refuses_other_hosts(target):
    assert safe_next(target, "/") == "/"


def test_safe_next_keeps_local_paths():
    assert safe_next("/soknader/3?x=1") == "/soknader/3?x=1"
