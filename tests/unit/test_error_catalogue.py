"""One catalogue of the domain's refusals (grants.errors.CATALOGUE): every error key the code raises has its
message there, in bokmål, nynorsk and English, and no page shows a bare key."""

import ast
from pathlib import Path

import pytest
from flask_babel import force_locale

from grants.accounts.passwords import password_problem
from grants.errors import CATALOGUE, message_for
from grants.review.scoring import CriterionSpec, score_problems

ROOT = Path(__file__).resolve().parents[2] / "grants"
ERROR_CLASSES = {"DomainError", "InvalidTransition", "NotPermitted", "BudgetExceeded", "DeadlinePassed",
                 "ValidationFailed", "StaleData"}


def raised_keys():
    """Every string literal given as the key of a DomainError raised in grants/ (raise X("key")), as the second
    argument of a _require(allowed, "key"), or returned as a blocker key (return "key" in a function whose name
    ends in _blocker)."""
    keys = {}
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ERROR_CLASSES and isinstance(node.args[0].value, str):
                    keys.setdefault(node.args[0].value, str(path.relative_to(ROOT.parent)))
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_require" and len(node.args) > 1
                    and isinstance(node.args[1], ast.Constant)):
                keys.setdefault(node.args[1].value, str(path.relative_to(ROOT.parent)))
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_blocker"):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Return) and isinstance(inner.value, ast.Constant) and inner.value.value:
                        keys.setdefault(inner.value.value, str(path.relative_to(ROOT.parent)))
    return keys


def test_the_scan_finds_the_keys_it_should():
    """A control for the scan itself: keys raised in three different ways are all found."""
    keys = raised_keys()
    assert {"over_budget", "four_eyes", "formal_check_missing", "dates_locked", "name_mismatch"} <= set(keys)
    assert len(keys) >= 45


def test_every_raised_key_has_a_message():
    missing = {key: where for key, where in raised_keys().items() if key not in CATALOGUE}
    assert not missing, f"error keys raised with no entry in grants.errors.CATALOGUE: {missing}"


def test_the_keys_made_by_rules_have_messages_too():
    """Password and scoring problems are keys computed by pure functions, not literals in a raise."""
    password_keys = {password_problem("a"), password_problem("x" * 500), password_problem("password123"),
                     password_problem("ola@example.no1", "ola@example.no1")}
    spec = CriterionSpec(1, 1, 1, 6)
    score_keys = set(score_problems([spec], {}, {}).values()) | set(score_problems([spec], {1: 9}, {}).values()) \
        | set(score_problems([spec], {1: 1}, {}).values())
    assert {"missing", "out_of_scale", "comment_required"} <= score_keys
    for key in (password_keys - {None}) | score_keys:
        assert key in CATALOGUE, key


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_every_message_is_a_sentence_in_the_language(app, language):
    with app.test_request_context(), force_locale(language):
        for key in CATALOGUE:
            text = message_for(key, remaining=125_000, open=3, deadline=None)
            assert text and text != key and "%(" not in text, (language, key, text)
        if language != "en":  # the nb and nn catalogues translate it: not the English source
            with force_locale("en"):
                english = message_for("over_budget", remaining=125_000)
            assert message_for("over_budget", remaining=125_000) != english


def test_details_are_filled_in_and_an_unknown_key_gets_the_general_message(app):
    with app.test_request_context(), force_locale("nb"):
        assert "125" in message_for("over_budget", remaining=125_000)
        assert "3 søknader" in message_for("decisions_not_released", open=3)
        assert message_for("no_such_key") == "Dette kan ikke gjøres."
