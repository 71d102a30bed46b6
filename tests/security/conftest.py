import pytest

import grants.accounts.models as account_models
from tests.security.support import cheap_hash


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    """Passwords set during a test (registration, changes, resets) are hashed cheaply too."""
    monkeypatch.setattr(account_models, "generate_password_hash", lambda password, method=None: cheap_hash(password))
