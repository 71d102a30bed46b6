"""The templates' ``_()`` (grants.i18n.template_gettext) says what Jinja's own newstyle gettext says: the
request's language, variables escaped where the template autoescapes and left alone where it does not, and the
msgid always read as a format string."""

import pytest
from flask import render_template_string

from grants.i18n import language, template_gettext

OPERATED = "Operated by %(operator)s"


@pytest.fixture
def nynorsk(app):
    with app.test_request_context("/"):
        with language("nn"):
            yield


def test_is_the_templates_underscore(app):
    assert app.jinja_env.globals["_"] is template_gettext


def test_takes_any_variable_name(nynorsk):
    assert render_template_string("{{ _('%(string)s and %(eval_ctx)s', string='a', eval_ctx='b') }}") == "a and b"


def test_translates_into_the_language_of_the_request(nynorsk):
    assert render_template_string("{{ _('Log out') }}") == "Logg ut"
    assert render_template_string("{% for x in [1, 2] %}{{ _('Log out') }} {% endfor %}") == "Logg ut Logg ut "


def test_escapes_the_variables_but_not_the_translation(nynorsk):
    page = render_template_string("{{ _(msgid, operator='<b>Oslo & Viken</b>') }}", msgid=OPERATED)
    assert page == "Drifta av &lt;b&gt;Oslo &amp; Viken&lt;/b&gt;"


def test_leaves_the_variables_alone_where_the_template_does_not_escape(nynorsk):
    page = render_template_string(
        "{% autoescape false %}{{ _(msgid, operator='<b>Oslo & Viken</b>') }}{% endautoescape %}", msgid=OPERATED)
    assert page == "Drifta av <b>Oslo & Viken</b>"


def test_reads_every_msgid_as_a_format_string(nynorsk):
    assert render_template_string("{{ _('100%% sure') }}") == "100% sure"


@pytest.mark.parametrize("source", [
    "{{ _('Log out') }}",
    "{{ _(msgid, operator='<i>x</i>') }}",
    "{% autoescape false %}{{ _(msgid, operator='<i>x</i>') }}{% endautoescape %}",
    "{{ _('100%% sure') }}",
])
def test_says_what_jinjas_own_gettext_says(nynorsk, source):
    assert render_template_string(source, msgid=OPERATED) == \
        render_template_string(source.replace("_(", "gettext("), msgid=OPERATED)
