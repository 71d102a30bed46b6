"""Shared by the security suite: users whose password hash is cheap to make and check (these tests log in
hundreds of times; what they test is not the hash), and logging in through the real form."""

from werkzeug.security import generate_password_hash

from tests.factories import PASSWORD, UserFactory
from tests.second_factor import pass_second_factor

CHEAP = "pbkdf2:sha256:1"


def cheap_hash(password=PASSWORD):
    return generate_password_hash(password, CHEAP)


def user(**kwargs):
    return UserFactory(password_hash=cheap_hash(), **kwargs)


def log_in(client, someone, password=PASSWORD):
    """Log in through the real form; IMDi staff then type their app's code (tests/second_factor.py)."""
    response = client.post("/konto/logg-inn", data={"email": someone.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return pass_second_factor(client, someone, response)
