"""Leaving a page that holds a draft form (an application's section, the report on a grant) keeps what was typed.

On such a page the language buttons of the header are submit buttons of the draft form (they post ``lang``), and
the page's script turns a click on a link, while the form holds typing not yet saved, into a submit of the form
with the link's address in ``go``. The view keeps the draft as it does for its own save button, then sends the
user on (``leave``): to the same page in the chosen language, or to the link. Without the script the language
switch still keeps the draft; only links then leave without saving."""

from flask import flash

from grants.core.urls import safe_next
from grants.i18n import LANGUAGE_NAMES, choose_language, current_language, language

LANG = "lang"
GO = "go"


def leaving(formdata):
    """Whether a posted draft form asks to leave its page: a language button (``lang``) or a link (``go``)."""
    return formdata.get(LANG) in LANGUAGE_NAMES or bool(formdata.get(GO))


def leave(formdata, here, message=None):
    """After the draft is kept: where to send the user, or None if the post does not ask to leave.

    Takes the posted form data, the page's own address ``here`` (where a language switch comes back to, and the
    fallback for a ``go`` that is not a path on this site) and ``message``, a callable giving the notice to show
    on arrival (called in the language the user goes on in), or None when nothing was saved. A language switch
    keeps the new language (the caller commits)."""
    lang = formdata.get(LANG)
    if lang in LANGUAGE_NAMES:
        choose_language(lang)
        target = here
    elif formdata.get(GO):
        target = safe_next(formdata.get(GO), here)
    else:
        return None
    if message is not None:
        with language(lang if lang in LANGUAGE_NAMES else current_language()):
            flash(message(), "success")
    return target
