"""The form layer of an application: build each section's form from what was saved, and check completeness."""

import hashlib
import json
from collections import OrderedDict
from datetime import date
from threading import Lock

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

from grants.applications.forms import ROUND_INPUTS, SECTION_FORMS, SECTION_TITLES
from grants.applications.operations import section_answers
from grants.applications.queries import grants_to_continue, resolve_municipalities
from grants.core.wording import day_in, kroner_in
from grants.i18n import kroner


def position(section):
    """(number, count) of ``section`` among the application's sections, in the one order they are defined in
    (forms.SECTIONS): the progress line "Part 2 of 8" of the project section reads (2, 8)."""
    names = list(SECTION_FORMS)
    return names.index(section) + 1, len(names)


def following(section):
    """The section after ``section`` in that order, or None after the last (then comes the check page)."""
    names = list(SECTION_FORMS)
    number = names.index(section) + 1
    return names[number] if number < len(names) else None


def build_form(application, section, formdata=None, *, csrf=True, continuing=None):
    """The section's form, filled from ``formdata`` (a POST) or from what was saved. ``continuing`` is the
    history section's earlier grants (grants_to_continue's rows) when the caller has read them already."""
    form_class = SECTION_FORMS[section]
    data = formdata if formdata is not None else section_answers(application, section)
    kwargs = {}
    if section in ("project", "budget"):
        kwargs["round"] = application.round
    meta = {} if csrf else {"csrf": False}
    if data is None:
        form = form_class(formdata=None, meta=meta, **kwargs)
        if section == "budget" and not form.cost_lines.entries:
            form.cost_lines.append_entry()
    else:
        form = form_class(formdata=data, meta=meta, **kwargs)
    form.version.data = str(application.version)
    if section == "history":
        form.continues.choices = [("", _("No, this is a new project"))] + [
            (str(a.id), f"{a.year}: {a.title} ({a.reference})")
            for a in (grants_to_continue(application.municipality_id, application.round)
                      if continuing is None else continuing)
        ]
    return form


def validate_section(application, section, form, *, partners=None):
    """Run the section's validators and the checks that need the database. True when valid. ``partners`` is
    resolve_municipalities' answer for the form's partners when the caller has it already."""
    valid = form.validate()
    if section == "applicant":
        found, unknown = resolve_municipalities(form.partners.data) if partners is None else partners
        form.partner_municipalities = [m for m in found if m.id != application.municipality_id]
        if unknown:
            form.partners.errors = [*form.partners.errors,
                                    _("Unknown municipality: %(names)s.", names=", ".join(unknown))]
            valid = False
        if any(m.id == application.municipality_id for m in found):
            form.partners.errors = [*form.partners.errors,
                                    _("Your own municipality is the lead applicant, not a partner.")]
            valid = False
    return valid


def section_status(application, section):
    """"empty", "complete" or "incomplete", and the form with its errors."""
    if section_answers(application, section) is None:
        return "empty", None
    form = build_form(application, section, csrf=False)
    return ("complete" if validate_section(application, section, form) else "incomplete"), form


def completeness(application):
    """Every section's status and, for incomplete ones, the errors: [(section, title, status, errors)]."""
    result = []
    for section, title in SECTION_TITLES.items():
        status, form = section_status(application, section)
        errors = []
        if form is not None:
            from grants.templating import form_errors

            errors = form_errors(form)
        result.append((section, str(title), status, errors))
    return result


class _Verdicts:
    """Whether a section's saved answers are valid, by a digest of everything the verdict depends on: at most
    ``size`` of them, the least recently used forgotten first. Shared by the threads of a process."""

    def __init__(self, size):
        self.size = size
        self._known = OrderedDict()
        self._lock = Lock()

    def get(self, key):
        with self._lock:
            verdict = self._known.get(key)
            if verdict is not None:
                self._known.move_to_end(key)
            return verdict

    def put(self, key, verdict):
        with self._lock:
            self._known[key] = verdict
            self._known.move_to_end(key)
            while len(self._known) > self.size:
                self._known.popitem(last=False)


_VERDICTS = _Verdicts(4096)


def forget_verdicts():
    """Forget every remembered verdict of section_states (for tests; nothing in the app needs it)."""
    global _VERDICTS
    _VERDICTS = _Verdicts(_VERDICTS.size)


def _digest(*parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()


def section_states(application):
    """Each section's state, as completeness() gives it but without the errors: [(section, title, state)],
    state "empty", "complete" or "incomplete". For the overview, which shows the states alone.

    Building and validating the eight WTForms forms was most of the overview's time (bench/pages.py), and the
    answer depends on nothing but the inputs of the validation: the section's saved answers; the round's
    minimum of participants, budget and own-contribution rule (the project and budget sections read them);
    the lead kommune and how the partners named resolve in the register (applicant, read here as before); and
    the earlier grants the application may continue (history, read here as before). A digest of exactly those is
    the key of a verdict kept in this process, so the same inputs give the verdict without building the form,
    and any change to one of them is a new key. The check page and the submission validate in full, every
    time (completeness, problems).

    Of the round, only the attributes the forms read (forms.ROUND_INPUTS) are in the key: its reference counter
    and time of change move at every submission, and keying on them would forget every verdict of the round at
    each one, in the deadline rush above all."""
    answers = application.answers or {}
    round_ = application.round
    round_inputs = [getattr(round_, name) for name in ROUND_INPUTS]
    result = []
    for section, title in SECTION_TITLES.items():
        stored = answers.get(section)
        if stored is None:
            result.append((section, str(title), "empty"))
            continue
        partners = continuing = None
        extra = None
        if section == "applicant":
            partners = resolve_municipalities(section_answers(application, section).get("partners"))
            extra = (application.municipality_id, [list(m) for m in partners[0]], partners[1])
        elif section == "history":
            continuing = grants_to_continue(application.municipality_id, round_)
            extra = [list(row) for row in continuing]
        key = _digest(section, stored, round_inputs, extra)
        valid = _VERDICTS.get(key)
        if valid is None:
            form = build_form(application, section, csrf=False, continuing=continuing)
            valid = validate_section(application, section, form, partners=partners)
            _VERDICTS.put(key, valid)
        result.append((section, str(title), "complete" if valid else "incomplete"))
    return result


def problems(application):
    """Human-readable reasons the application cannot be submitted yet (empty when complete)."""
    found = []
    for _section, title, status, errors in completeness(application):
        if status == "empty":
            found.append(_("%(section)s: not filled in.", section=title))
        for error in errors:
            found.append(f"{title}: {error['label']}: {error['message']}")
    return found


def snapshot(application):
    """The application as it reads at submission: every section's answers and the computed totals."""
    data = {k: v for k, v in (application.answers or {}).items() if not k.startswith("_")}
    return {
        "answers": data,
        "municipality": {"number": application.municipality.number, "name": application.municipality.name},
        "partners": [{"number": p.municipality.number, "name": p.municipality.name} for p in application.partners],
        "title": application.title,
        "amount_applied": application.amount_applied,
        "own_contribution": application.own_contribution,
        "other_funding": application.other_funding,
        "total_cost": application.total_cost,
        "participants": application.participants,
        "activities": application.activity_types,
        "cost_lines": [
            {"category": c.category, "description": c.description, "amount": c.amount}
            for c in application.cost_lines
        ],
        "attachments": [
            {"name": a.original_name, "size": a.size, "sha256": a.sha256, "purpose": a.purpose}
            for a in application.attachments
        ],
    }


def budget_totals(form):
    """(total cost, applied + own + other) for showing beside the budget."""
    total = form.total_cost()
    funding = sum((getattr(form, n).amount or 0) for n in ("amount_applied", "own_contribution", "other_funding"))
    return kroner(total), kroner(funding), total == funding


__all__ = ["ValidationError", "build_form", "following", "position", "validate_section", "completeness", "problems",
           "snapshot"]


def shown_value(field, lang):
    """What a saved field reads as for people, in ``lang`` ("nb", "nn" or "en"; call within that language, as the
    labels are translated then): "Yes"/"No" for a checkbox, an amount as the language writes it ("150 000 kr"), a
    date written out ("1. mai 2027"), a choice by its label, and anything not valid exactly as typed with the
    reason it is not ("-5 (The amount must be more than zero.)"); "" for nothing."""
    value = field.data
    if field.type == "BooleanField":
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        labels = {str(k): str(v) for k, v in (field.choices or [])}
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if field.type == "KronerField" and getattr(field, "amount", None) is not None and not field.errors:
        return kroner_in(field.amount, lang)
    if isinstance(value, date) and not field.errors:
        return day_in(value, lang)
    choices = getattr(field, "choices", None)
    if choices and value not in (None, ""):
        value = dict((str(k), str(v)) for k, v in choices).get(str(value), value)
    text = "" if value is None else str(value)
    if text and field.errors:
        return _("%(value)s (%(problem)s)", value=text, problem=str(field.errors[0]))
    return text


def shown_rows(form, lang):
    """(label, value) of each field of a section's form as people read it (``shown_value``), for the check page,
    the page beside a conflict, IMDi's case page and the application's PDF: a budget's cost lines one row each
    ("Category: description", amount) with the total cost after them, and partner kommuner by name once
    ``validate_section`` has resolved them."""
    rows = []
    for field in form:
        if field.type in ("HiddenField", "CSRFTokenField"):
            continue
        if field.type == "FieldList":
            for entry in field.entries:
                line = entry.form
                if not (line.description.data or line.amount.raw_data and line.amount.raw_data[0]):
                    continue
                category = shown_value(line.category, lang)
                label = f"{category}: {line.description.data}" if category else line.description.data or ""
                rows.append((label, shown_value(line.amount, lang)))
            if hasattr(form, "total_cost"):
                rows.append((_("Total cost"), kroner_in(form.total_cost(), lang)))
            continue
        shown = shown_value(field, lang)
        if field.name == "partners" and getattr(form, "partner_municipalities", None) and not field.errors:
            shown = ", ".join(m.name for m in form.partner_municipalities)
        rows.append((str(field.label.text), shown))
    return rows


def saved_section(application, section, answers=None):
    """The section's form filled from ``answers`` ({field: [str]}, a submitted snapshot's) or, when None, from
    what was last saved, validated, so that what is not valid reads with its reason; None if never saved."""
    data = section_answers(application, section) if answers is None else \
        MultiDict([(k, v) for k, values in answers.items() for v in values])
    if data is None:
        return None
    form = build_form(application, section, data, csrf=False)
    validate_section(application, section, form)
    return form
