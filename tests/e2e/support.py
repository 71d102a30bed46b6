"""Helpers for the browser suites: find controls by their labels, fill sections as a user does, log in.

The UI may be in bokmål, nynorsk or English, and translations change while translators work. So nothing here
looks for a text of the UI: a control is found by the text of its own <label> (read from the page), which also
proves that the label is tied to the control; buttons and links are found by their form, name or address.
"""

import re

from playwright.sync_api import Page, expect

from grants.accounts.operations import find_user_by_email
from grants.extensions import db
from tests.applying import VALID_SECTIONS
from tests.second_factor import app_code

SECTIONS = list(VALID_SECTIONS)
LANGUAGES = ("nb", "nn", "en")
PASSWORD = "correct horse battery"  # noqa: S105
CODE_PAGE = "/konto/kode"

# The main form of a page (login, section, attachments): the one the form macros render.
MAIN_FORM = "main form.form"
# The form's own Save: its primary button with no name, or on a section (where "Save and continue" is the primary
# one, named "then") the plain Save beside it.
SAVE_BUTTON = (f"{MAIN_FORM} .button-row button[type=submit][data-variant=primary]:not([name]), "
               "#section-form .button-row button[type=submit]:not([name])")


def collapse(text):
    return " ".join((text or "").split())


def by_label(page: Page, control_id):
    """The control labelled by <label for=control_id>, found the way a user finds it: by that label's text.

    Looks inside the innermost fieldset around the control (a cost line, a group of radios or checkboxes), so
    that the same label in two cost lines is told apart by its group, as a screen reader user hears it.
    """
    found = page.evaluate(
        """(id) => {
            const control = document.getElementById(id);
            const label = document.querySelector(`label[for="${CSS.escape(id)}"]`);
            const group = control && control.closest('fieldset');
            const groups = group ? Array.from(document.querySelectorAll('fieldset')).indexOf(group) : -1;
            return {exists: !!control, text: label ? label.textContent : '', group: groups};
        }""",
        control_id,
    )
    assert found["exists"], f"no #{control_id} on {page.url}"
    text = collapse(found["text"])
    assert text, f"#{control_id} has no <label>"
    scope = page.locator("fieldset").nth(found["group"]) if found["group"] >= 0 else page
    located = scope.get_by_label(text, exact=True)
    # Strict: exactly one control answers to this label, and it is the one we meant.
    expect(located, f"the label {text!r} names #{control_id}").to_have_attribute("id", control_id)
    return located


def controls_named(page: Page, name):
    """[(id, type, value)] of the controls posting ``name``, in page order."""
    return page.eval_on_selector_all(
        f'[name="{name}"]', "els => els.map(e => [e.id, e.type, e.value])")


def fill_section(page: Page, data):
    """Fill every field of ``data`` (the posted name -> value(s)) through its label. Returns the names not on the
    page (a cost line not added yet)."""
    missing = []
    for name, value in data.items():
        controls = controls_named(page, name)
        if not controls:
            missing.append(name)
            continue
        kind = controls[0][1]
        wanted = value if isinstance(value, list) else [value]
        if kind == "checkbox":
            for control_id, _kind, control_value in controls:
                box = by_label(page, control_id)
                box.check() if control_value in wanted else box.uncheck()
        elif kind == "radio":
            if value:
                control_id = next(c[0] for c in controls if c[2] == value)
                by_label(page, control_id).check()
        elif kind.startswith("select"):
            by_label(page, controls[0][0]).select_option(value)
        else:
            by_label(page, controls[0][0]).fill(value)
    return missing


def navigate(page: Page, action):
    """Run ``action`` (a click or a key press that loads a page) and return the main response."""
    with page.expect_navigation() as navigation:
        action()
    response = navigation.value
    page.wait_for_load_state("load")
    return response


def click_through(page: Page, selector):
    return navigate(page, lambda: page.locator(selector).first.click())


def save(page: Page):
    return click_through(page, SAVE_BUTTON)


def application_id(page: Page):
    match = re.search(r"/soknader/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


def path(page: Page):
    """The path and query of the page's address, without the fragment (which a redirect keeps: #main)."""
    return re.sub(r"^https?://[^/]+", "", page.url).split("#", 1)[0]


def html_lang(page: Page):
    return page.evaluate("document.documentElement.lang")


def switch_language(page: Page, lang):
    """Press the language button in the header; the same page comes back in that language."""
    before = path(page)
    button = page.locator(f'header form.lang-switch button[name="lang"][value="{lang}"]')
    response = navigate(page, lambda: button.click())
    assert response.status == 200
    assert path(page) == before
    assert html_lang(page) == lang
    expect(page.locator(f'header button[name="lang"][value="{lang}"]')).to_have_attribute("aria-current", "true")


def log_in(page: Page, email, password=PASSWORD):
    """The password; for IMDi staff then the code of their app, computed with pyotp from the user's secret
    (tests/second_factor.py), on the code page as a user types it."""
    fill_section(page, {"email": email, "password": password})
    response = save(page)
    if path(page) == CODE_PAGE:
        response = type_app_code(page, email)
    return response


def type_app_code(page: Page, email, field="code"):
    """Type the app's code of the user with ``email`` in the code field and send it."""
    someone = find_user_by_email(email)
    code = app_code(someone)
    db.session.commit()  # the test thread's transaction ends before the server writes (tests/e2e/conftest.py)
    fill_section(page, {field: code})
    return save(page)


ACTIVE_JS = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return {key: 'body', indicator: 'nothing focused'};
    const tag = e.tagName.toLowerCase();
    let key;
    if (e.classList.contains('ds-skip-link')) key = 'skip-link';
    else if (tag === 'main') key = 'main';
    else if (e.type === 'radio') key = 'radio:' + e.name;
    else if (tag === 'button') key = 'button:' + (e.name || (e.dataset.variant === 'primary' ||
                                                             e.closest('#section-form') ? 'save' : ''));
    else if (tag === 'a') key = 'a:' + e.getAttribute('href');
    else key = e.id || e.name || tag;

    // Is focus visible (WCAG 2.4.7)? true, or why not.
    let indicator = true;
    if (tag === 'main' || e.id === 'error-summary') {
        indicator = true;  // tabindex=-1 targets of the skip link and of autofocus, not controls
    } else if (key === 'skip-link') {  // hidden until focused: showing up is its indicator
        const r = e.getBoundingClientRect();
        indicator = (r.width > 10 && r.height > 10) || 'the skip link stays hidden when focused';
    } else if (e.type === 'date' && !e.matches(':focus') && e.value) {
        // A filled date input has one more stop, Chromium's calendar button inside the input's own shadow
        // tree: the input itself is then not :focus, and Chromium draws its own ring around the button.
        indicator = true;
    } else if (!e.matches(':focus-visible')) {
        indicator = 'not :focus-visible: ' + e.outerHTML.slice(0, 120);
    } else {
        // Designsystemet draws the ring on the control, or for a checkbox or radio on its .ds-field.
        indicator = 'no outline or box shadow on ' + e.outerHTML.slice(0, 120);
        for (let n = e, up = 0; n && up < 3; n = n.parentElement, up++) {
            const s = getComputedStyle(n);
            const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
            if (outline || (s.boxShadow && s.boxShadow !== 'none')) {
                indicator = true;
                break;
            }
        }
    }
    return {key, id: e.id, name: e.getAttribute('name'), type: e.type, tag, value: e.value, checked: !!e.checked,
            inMain: !!e.closest('main'), inForm: !!e.closest('main form.form'), indicator};
}"""


def active(page: Page):
    """The focused element: {key, id, name, type, tag, value, checked, inMain, inForm, indicator}.

    ``key`` names it for tab-order lists (a field's id, "radio:<name>" for a radio group, "button:<name>" or
    "button:save" (a primary button with no name, or a section's plain Save), "a:<href>", "skip-link", "main");
    ``indicator`` is True when focus is visible on it (it matches :focus-visible and it, or the .ds-field around a
    checkbox, draws an outline or box shadow), else the reason it is not.
    """
    return page.evaluate(ACTIVE_JS)
