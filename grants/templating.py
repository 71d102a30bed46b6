"""Template globals and filters: language, navigation, form errors, money and Oslo time."""

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_request_context, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import FileSystemBytecodeCache

from grants.core.timeutil import now_utc, to_oslo
from grants.core.wording import AT, day_in, moment_in, organisation_number_shown
from grants.i18n import LANGUAGE_NAMES, current_language, kroner, title_in


@dataclass
class NavItem:
    label: str
    url: str
    active: bool


def nav_items():
    """The header navigation for the current user."""
    items = [(_("Grant rounds"), "public.index")]
    if current_user.is_authenticated:
        if current_user.role == "municipal":
            items.append((_("My applications"), "applications.dashboard"))
            if current_user.is_municipality_admin:
                items.append((_("Colleagues"), "accounts.colleagues"))
        else:
            if current_user.role in ("caseworker", "approver", "admin"):
                items.append((_("Case handling"), "review.rounds"))
            if current_user.role == "reviewer":
                items.append((_("My reviews"), "review.my_assignments"))
            if current_user.has_role("admin"):
                items.append((_("Manage rounds"), "rounds.admin_list"))
                items.append((_("Users"), "accounts.approvals"))
                items.append((_("Outbox"), "notify.outbox"))
    path = request.path if request else ""
    result = []
    for label, endpoint in items:
        url = url_for(endpoint)
        active = path == url or (url != "/" and path.startswith(url))
        result.append(NavItem(label, url, active))
    return result


# Where each role lands after logging in (when no safe ``next`` is asked for): a kommune's staff, reviewers and
# administrators on their own lists; caseworkers and approvers on the front page, whose header leads to their rounds.
LANDING = {"municipal": "applications.dashboard", "reviewer": "review.my_assignments", "admin": "rounds.admin_list"}


def landing_endpoint(user):
    """The endpoint a logged-in ``user`` lands on: a reviewer on the list of what they have to assess, a kommune's
    staff on their applications, an administrator on the rounds to run; anyone else (or nobody logged in) on the
    public list of rounds."""
    if not getattr(user, "is_authenticated", False):
        return "public.index"
    return LANDING.get(str(user.role), "public.index")


def form_errors(form):
    """Every error of a form, flattened over nested fields: [{id, label, message}]."""
    errors = []

    def walk(field):
        if field.type in ("FormField",):
            for sub in field.form:
                walk(sub)
            return
        if field.type == "FieldList":
            for entry in field.entries:
                walk(entry)
            return
        for message in field.errors if isinstance(field.errors, list | tuple) else []:
            if not isinstance(message, dict | list):  # lazy strings are not str
                errors.append({"id": field.id, "label": field.label.text, "message": str(message)})

    if form is None:
        return errors
    for field in form:
        walk(field)
    for message in getattr(form, "form_errors", []) or []:
        errors.append({"id": "main", "label": "", "message": str(message)})
    return errors


def oslo_datetime(moment, with_time=True):
    """A UTC time shown in Oslo, worded for the page's language."""
    if moment is None:
        return ""
    if not hasattr(moment, "hour"):
        return moment.strftime("%d.%m.%Y")
    local = to_oslo(moment)
    if not with_time:
        return local.strftime("%d.%m.%Y")
    return f"{local.strftime('%d.%m.%Y')} {AT[current_language()]} {local.strftime('%H:%M')}"


def day(value):
    """A day (a date, or a UTC datetime taken to its Oslo day) written out in the page's language:
    "19. februar 2025", "19 February 2025"; "" for None (grants.core.wording.day_in)."""
    return day_in(value, current_language())


def moment(value):
    """A UTC time as its Oslo day written out and the Oslo clock time: "19. februar 2025 kl. 14:30" ("19 February
    2025 at 14:30"); "" for None (grants.core.wording.moment_in)."""
    return moment_in(value, current_language())


def _from_iso(text):
    from datetime import date, datetime

    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)


def day_iso(text):
    """An ISO-8601 date or time, as kept in notice contexts, as its Oslo day written out (``day``)."""
    return day(_from_iso(text)) if text else ""


def moment_iso(text):
    """An ISO-8601 time (or date), as kept in notice contexts, as ``moment`` (a bare date as ``day``)."""
    if not text:
        return ""
    value = _from_iso(text)
    return moment(value) if hasattr(value, "hour") else day(value)


def round_phase(round_, at=None):
    """Where a round stands, worded with its day in the page's language: "Åpnet 24. januar 2025", "Åpner 24. januar
    2026", "Stengt 19. februar 2025" (grants.rounds.phase)."""
    from grants.rounds.phase import PHASE_WORDING, phase_of

    found = phase_of(round_, at or now_utc())
    return _(PHASE_WORDING[found.phase], date=day(found.day))


def public_url(endpoint, **values):
    """An absolute address on the public site, usable outside a request (e-mails sent by workers)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context(base_url=base):
        return base + url_for(endpoint, **values)


def oslo_iso(text):
    """An ISO-8601 time or date (as kept in notice contexts) shown in Oslo."""
    from datetime import date, datetime

    if not text:
        return ""
    if len(text) == 10:
        return date.fromisoformat(text).strftime("%d.%m.%Y")
    return oslo_datetime(datetime.fromisoformat(text))


def oslo_date(value):
    return oslo_datetime(value, with_time=False)


def account_number(value):
    """An 11-digit Norwegian account number as people write it: 1234.56.78903 (python-stdnum's no.kontonr)."""
    from stdnum.no import kontonr

    return kontonr.format(value) if value else ""


def role_names():
    """{role: its title in the request's language} (grants.accounts.models.ROLE_TITLES)."""
    from grants.accounts.models import ROLE_TITLES

    return {str(key): title_in(ROLE_TITLES, key) for key in ROLE_TITLES}


def status_names():
    """{user status: its title in the request's language} (grants.accounts.models.STATUS_TITLES)."""
    from grants.accounts.models import STATUS_TITLES

    return {str(key): title_in(STATUS_TITLES, key) for key in STATUS_TITLES}


def state_names():
    """Application states as people read them, in the request's language: the workflow's titles, translated."""
    from grants.applications.workflow import TITLES

    return {str(key): title_in(TITLES, key) for key in TITLES}


def activity_names():
    from grants.applications.forms import ACTIVITY_CHOICES

    return {value: str(label) for value, label in ACTIVITY_CHOICES}


def decimal(value, places=2):
    """A number with ``places`` decimals as the page's language writes it (Babel): "5,22" in bokmål and nynorsk,
    "5.22" in English; "" for None."""
    if value is None:
        return ""
    return format_decimal(value, format="0." + "0" * places if places else "0")


class _TemplateCache(FileSystemBytecodeCache):
    """Jinja's cache of compiled templates on disk, which never stops a page: a folder that cannot be read or
    written (another user's, a read-only image, removed meanwhile) only means the template is compiled in memory,
    as it would be without the cache. The problem is logged once per process."""

    _warned = False

    def load_bytecode(self, bucket):
        try:
            super().load_bytecode(bucket)
        except OSError as error:
            self._warn(error)

    def dump_bytecode(self, bucket):
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            self._warn(error)

    def _warn(self, error):
        if not _TemplateCache._warned:
            _TemplateCache._warned = True
            logging.getLogger(__name__).warning("template cache in %s not used: %s", self.directory, error)


def _bytecode_cache(app):
    """Jinja's own cache of compiled templates on disk, in the instance folder (``TEMPLATE_CACHE_DIR`` to put it
    elsewhere), so that a new process loads compiled code instead of compiling each template again; Jinja keys
    each entry by the template's name and a checksum of its source, so an edited template is compiled anew.
    None when the folder cannot be made: then templates compile in memory as before (as they do when the folder
    exists but cannot be written, see _TemplateCache)."""
    folder = Path(app.config.get("TEMPLATE_CACHE_DIR") or Path(app.instance_path) / "jinja")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _TemplateCache(str(folder))


def init_app(app):
    app.jinja_env.bytecode_cache = _bytecode_cache(app)
    app.jinja_env.globals.update(
        nav_items=nav_items,
        form_errors=form_errors,
        html_lang=current_language,
        current_language=current_language,
        language_names=LANGUAGE_NAMES,
        public_url=public_url,
        role_names=role_names,
        status_names=status_names,
        state_names=state_names,
        activity_names=activity_names,
    )
    app.jinja_env.filters.update(kroner=kroner, oslo=oslo_datetime, oslo_date=oslo_date, oslo_iso=oslo_iso,
                                 account_number=account_number, organisation_number=organisation_number_shown,
                                 decimal=decimal,
                                 day=day, moment=moment, day_iso=day_iso, moment_iso=moment_iso, amount=kroner,
                                 round_phase=round_phase)
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.template_filter("localised")
    def localised(obj, field):
        return obj.localised(field, current_language())
