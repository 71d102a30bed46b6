"""The application form can be completed with the keyboard alone.

A kommune's user logs in (Tab, typing, Enter), starts an application, and fills every section by keyboard: on each
section page, Tab from the skip link through every field in page order to the Save button, typing text and dates,
Space on checkboxes, arrow keys in radio groups and selects, Enter to save. Every focused element must show a
focus indicator. A save with invalid values puts focus on the error summary, and its links move focus to the
field. Then a file is chosen and uploaded by keyboard, and the application is checked and submitted.

Nothing asserts on a text of the UI (translators are at work): only ids, names, addresses and the saved data.
"""

import pytest
from playwright.sync_api import expect

from grants.applications.models import Application
from grants.applications.workflow import State
from grants.extensions import db
from tests.applying import VALID_SECTIONS
from tests.e2e.conftest import settle
from tests.e2e.support import PASSWORD, SECTIONS, active, application_id, navigate, path
from tests.e2e.test_apply import tiny_pdf
from tests.factories import RoundFactory, municipal_user

pytestmark = pytest.mark.e2e

EMAIL = "kari@oslo.kommune.no"
MAX_TABS = 80


def cost_line(n):
    return [f"cost_lines-{n}-category", f"cost_lines-{n}-description", f"cost_lines-{n}-amount"]


# Every control of each section, in the order Tab must reach them (a radio group is one stop), then Save.
TAB_ORDER = {
    "applicant": ["partners", "contact_name", "contact_role", "contact_email", "contact_phone"],
    "project": ["title", "summary", "description",
                "activity_types", *[f"activity_types-{i}" for i in range(1, 8)], "aimed_at", "aimed_at-1",
                "target_groups", "participants", "period_start", "period_end"],
    "anchoring": ["radio:action_plan", "plan_name", "plan_adopted_on", "plan_link", "plan_goals", "political_body",
                  "political_date", "political_case", "administrative"],
    "involvement": ["radio:mapping", "mapping_description", "involved", "involved-1", "involved-2", "involved-3",
                    "involvement"],
    "transfer": ["transfer_value"],
    "measurement": ["goals", "indicators"],
    "budget": [*cost_line(0), *cost_line(1), "button:add_line", "button:remove_line", "amount_applied",
               "own_contribution", "other_funding", "no_running_costs"],
    "history": ["earlier_projects", "continues"],
}
BUDGET_ONE_LINE = [*cost_line(0), "button:add_line"]  # the first budget page, up to "Add a cost line"


@pytest.fixture
def applicant(app):
    municipal_user("0301", email=EMAIL, name="Kari Nordmann", language="nb")
    RoundFactory(year=2025)
    db.session.commit()
    settle()
    return EMAIL


@pytest.fixture
def date_keys(context):
    """How to type an ISO date into Chromium's date input: its segment order follows the browser's locale."""
    page = context.new_page()
    try:
        page.set_content('<input type="date" id="d">')
        page.focus("#d")
        page.keyboard.type("01022003")
        probe = page.input_value("#d")
    finally:
        page.close()
    orders = {"2003-02-01": "dmy", "2003-01-02": "mdy"}
    order = orders.get(probe, "ymd")

    def keys(iso):
        year, month, day = iso.split("-")
        parts = {"d": day, "m": month, "y": year}
        return "".join(parts[c] for c in order)

    return keys


def press(page, key):
    page.keyboard.press(key)
    return active(page)


def tab_to(page, selector, shift=False):
    """Press Tab (or Shift+Tab) until the focused element matches ``selector``."""
    key = "Shift+Tab" if shift else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return active(page)
    raise AssertionError(f"{key} never reached {selector} on {page.url}")


def press_and_load(page, key="Enter"):
    return navigate(page, lambda: page.keyboard.press(key))


def assert_focus_visible(page, where, focused=None):
    """The focused element shows a focus indicator (WCAG 2.4.7); see ``indicator`` in support.active."""
    focused = focused or active(page)
    assert focused["indicator"] is True, f"{where}: {focused['indicator']}"


def desired(section, name):
    """What the plan (tests.applying.VALID_SECTIONS) wants in the control posting ``name``."""
    return VALID_SECTIONS[section].get(name)


def operate(page, section, focused, date_keys):
    """Make the focused control hold the planned value, by keyboard only."""
    name, kind = focused["name"], focused["type"]
    want = desired(section, name)
    if want is None:
        return
    if kind == "checkbox":
        wanted = want if isinstance(want, list) else [want]
        if focused["checked"] != (focused["value"] in wanted):
            page.keyboard.press("Space")
            assert active(page)["checked"] == (focused["value"] in wanted)
    elif kind == "radio":
        values = page.eval_on_selector_all(f'input[name="{name}"]', "els => els.map(e => e.value)")
        current, target = values.index(focused["value"]), values.index(want)
        if current == target and not focused["checked"]:
            page.keyboard.press("Space")
        for _ in range(abs(target - current)):
            page.keyboard.press("ArrowDown" if target > current else "ArrowUp")
        assert active(page)["value"] == want and active(page)["checked"]
    elif kind.startswith("select"):
        values = page.eval_on_selector_all(f'select[name="{name}"] option', "els => els.map(e => e.value)")
        current, target = values.index(focused["value"]), values.index(want)
        for _ in range(abs(target - current)):
            page.keyboard.press("ArrowDown" if target > current else "ArrowUp")
        assert active(page)["value"] == want
    elif kind == "date":
        if focused["value"] != want:
            page.keyboard.type(date_keys(want))
            assert active(page)["value"] == want
    elif focused["value"] != want:
        page.keyboard.press("ControlOrMeta+A")
        if want:
            page.keyboard.type(want)
        else:
            page.keyboard.press("Delete")
        assert active(page)["value"] == want


def walk(page, section, date_keys, from_skip_link=True):
    """Tab through the section page to its Save button, filling each control on the way.

    Returns (the form's controls in the order focus reached them, the last focused element). On the budget page
    with one cost line, presses "Add a cost line" instead, and returns at once.
    """
    if from_skip_link:
        first = press(page, "Tab")
        assert first["key"] == "skip-link", f"the first Tab stop is {first}"
        assert_focus_visible(page, "skip link", first)
        assert press(page, "Enter")["key"] == "main", "the skip link does not move focus to <main>"
    order, seen_keys = [], []
    for _ in range(MAX_TABS):
        focused = press(page, "Tab")
        assert focused["inMain"], f"Tab left <main> before Save: {focused} after {order}"
        assert_focus_visible(page, f"{section}: {focused['key']}", focused)
        key = focused["key"]
        if seen_keys and seen_keys[-1] == key:  # the day, month and year of a date input are three stops
            continue
        assert key not in seen_keys, f"{key} focused twice: {seen_keys}"
        seen_keys.append(key)
        if not focused["inForm"]:
            continue
        order.append(key)
        if key == "button:save":
            return order, focused
        if key == "button:add_line":
            if page.locator("#cost_lines-1-amount").count() == 0:
                return order, focused
            continue
        if key.startswith("button:"):
            continue
        operate(page, section, focused, date_keys)
    raise AssertionError(f"Tab never reached Save on {section}: {order}")


def saved_answers(application):
    db.session.expire_all()
    answers = dict(db.session.get(Application, application).answers or {})
    settle()
    return answers


def test_the_application_can_be_completed_with_the_keyboard_alone(app, applicant, page, date_keys, tmp_path):
    # Log in: Tab to the e-mail field, type, Tab to the password, type, Enter.
    page.goto("/konto/logg-inn")
    assert press(page, "Tab")["key"] == "skip-link"
    tab_to(page, "#email")
    assert_focus_visible(page, "e-mail")
    page.keyboard.type(EMAIL)
    assert press(page, "Tab")["id"] == "password"
    page.keyboard.type(PASSWORD)
    response = press_and_load(page)
    assert response.status == 200 and path(page) == "/soknader/"

    # Start an application from the dashboard.
    tab_to(page, 'main form[action$="/soknader/ny"] button[type=submit]')
    assert_focus_visible(page, "start button")
    press_and_load(page)
    application = application_id(page)
    assert path(page) == f"/soknader/{application}"

    for section in SECTIONS:
        tab_to(page, f'main a[href="/soknader/{application}/del/{section}"]')
        assert press_and_load(page).status == 200

        if section == "project":
            # Save with nothing filled in: the error summary takes focus; its links move focus to the fields.
            tab_to(page, "main form.form button[type=submit][data-variant=primary]")
            assert press_and_load(page).status == 422
            expect(page.locator("#error-summary")).to_be_focused()  # autofocus
            for number, target in enumerate(("title", "activity_types", "participants")):
                # Tab down into the summary at first; later Shift+Tab back up to it from the field.
                tab_to(page, f'#error-summary a[href="#{target}"]', shift=number > 0)
                assert_focus_visible(page, f"error summary link to {target}")
                page.keyboard.press("Enter")
                expect(page.locator(f'[id="{target}"]')).to_be_focused()
            # Back to the summary's last link, and from there Tab on through the whole form.
            tab_to(page, "#error-summary a", shift=True)
            order, last = walk(page, section, date_keys, from_skip_link=False)
        elif section == "budget":
            order, last = walk(page, section, date_keys)
            assert order == BUDGET_ONE_LINE, order
            # "Add a cost line": the page comes back with two lines to go on writing, without the new empty
            # line's errors (what was typed is kept); Tab again from the skip link through the whole form.
            assert page.url.endswith("#main")
            assert press_and_load(page).status == 200
            expect(page.locator("#cost_lines-1-amount")).to_have_count(1)
            expect(page.locator("#error-summary")).to_have_count(0)
            order, last = walk(page, section, date_keys)
        else:
            order, last = walk(page, section, date_keys)

        # "Save and continue" (named "then"), then the plain Save that goes back to the overview.
        assert order == [*TAB_ORDER[section], "button:then", "button:save"], f"{section}: Tab order {order}"
        assert last["key"] == "button:save"
        response = press_and_load(page)  # Enter on Save
        assert response.status == 200 and path(page) == f"/soknader/{application}", f"{section} was not saved"

        answers = saved_answers(application).get(section)
        assert answers is not None, section
        for name, value in VALID_SECTIONS[section].items():
            assert answers.get(name) == (value if isinstance(value, list) else [value]), (section, name, answers)

    # An attachment, chosen with the keyboard (Space on the file input opens the file chooser). The chooser is
    # listened for from here on: Playwright intercepts choosers only once a listener exists, and one added in the
    # same moment as the key press could come after the chooser had opened (seen under load).
    choosers = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    tab_to(page, f'main a[href="/soknader/{application}/vedlegg"]')
    press_and_load(page)
    tab_to(page, "#file")
    assert_focus_visible(page, "file input")
    pdf = tmp_path / "vedtak.pdf"
    pdf.write_bytes(tiny_pdf())
    expect(page.locator("#file")).to_be_focused()
    page.keyboard.press("Space")
    for _ in range(100):  # up to 10 s
        if choosers:
            break
        page.wait_for_timeout(100)
    assert choosers, "Space on the focused file input opened no file chooser"
    choosers[0].set_files(pdf)
    assert press(page, "Tab")["id"] == "purpose"
    page.keyboard.press("ArrowDown")
    assert press(page, "Tab")["key"] == "button:save"
    response = press_and_load(page)
    assert response.status == 200 and path(page) == f"/soknader/{application}/vedlegg"
    expect(page.locator(f'main a[href^="/soknader/{application}/vedlegg/"]')).to_have_text("vedtak.pdf")

    # Check and submit, by keyboard.
    tab_to(page, f'main a[href="/soknader/{application}"]')
    press_and_load(page)
    tab_to(page, f'main a[href="/soknader/{application}/kontroll"]')
    press_and_load(page)
    expect(page.locator("#error-summary")).to_have_count(0)
    tab_to(page, f'main form[action="/soknader/{application}/send"] button[type=submit]')
    assert_focus_visible(page, "submit button")
    response = press_and_load(page)
    assert response.status == 200 and path(page) == f"/soknader/{application}/kvittering"

    db.session.expire_all()
    submitted = db.session.get(Application, application)
    state, reference, purposes = submitted.state, submitted.reference, [a.purpose for a in submitted.attachments]
    settle()
    assert state == State.submitted and reference == "2025-0001"
    assert purposes == ["action_plan"]
    expect(page.locator("main dl.summary-list dd").first).to_have_text(reference)
