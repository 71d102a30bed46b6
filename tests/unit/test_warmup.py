"""A web process compiles its templates before its first request (grants.warmup), and a later process loads them
compiled from Jinja's bytecode cache in the instance folder instead of compiling them again."""

import pytest
from jinja2 import TemplateSyntaxError

from grants import create_app
from grants.warmup import warm


def app_with_cache(tmp_path, cache):
    return create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/w.db", TEMPLATE_CACHE_DIR=str(cache))


def test_warm_compiles_every_template_into_the_cache(tmp_path):
    cache = tmp_path / "jinja"
    app = app_with_cache(tmp_path, cache)
    count = warm(app)
    names = [n for n in app.jinja_env.list_templates() if n.endswith((".html", ".txt"))]
    assert count == len(names) > 100
    assert len(list(cache.iterdir())) == count
    assert "base.html" in {t.name for t in app.jinja_env.cache.values()}


def test_a_second_process_loads_compiled_templates_instead_of_compiling(tmp_path, monkeypatch):
    cache = tmp_path / "jinja"
    warm(app_with_cache(tmp_path, cache))
    second = app_with_cache(tmp_path, cache)

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled again although the bytecode cache holds it")

    monkeypatch.setattr(second.jinja_env, "compile", no_compiling)
    assert warm(second) > 100


def test_a_cache_folder_that_cannot_be_written_or_read_only_costs_the_compiling(tmp_path):
    """The folder gone after the start (or another user's, or read-only): pages still render, compiled in memory,
    and nothing is written."""
    import shutil

    cache = tmp_path / "jinja"
    app = app_with_cache(tmp_path, cache)
    shutil.rmtree(cache)
    assert warm(app) > 100
    assert not cache.exists()
    with app.test_request_context("/"):
        from flask import render_template

        assert "<html" in render_template("public/accessibility.html")


def test_a_template_that_does_not_compile_stops_the_start(tmp_path):
    app = app_with_cache(tmp_path, tmp_path / "jinja")
    app.jinja_loader.searchpath.insert(0, str(tmp_path / "templates"))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "broken.html").write_text("{% if %}")
    with pytest.raises(TemplateSyntaxError):
        warm(app)
