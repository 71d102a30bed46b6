"""The axe helper itself: it runs under the app's real Content-Security-Policy, uses the pinned axe-core, and
fails with the violation's id, impact, target and help when a page breaks a WCAG rule."""

import json

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_axe_runs_under_the_apps_csp_and_reports_violations(app, page, axe):
    response = page.goto("/konto/logg-inn")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    axe(page, "login page")

    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["axe-core"]
    assert page.evaluate("axe.version") == pinned

    # Break two rules on purpose: an image without a text alternative, a field without a label.
    page.evaluate("""() => {
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend',
            '<img id="broken-image" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">' +
            '<input id="broken-input" type="text">');
    }""")
    with pytest.raises(AssertionError) as failure:
        axe(page, "a page broken on purpose")
    message = str(failure.value)
    for expected in ("image-alt", "#broken-image", "critical", "label", "#broken-input"):
        assert expected in message, message
