"""The 2024 and 2025 rounds replayed through the real operations, at the moments they happened.

Kommuner are real; every project text is fictional and says so. Nothing here writes an end state directly:
users register and are approved, applications are filled in section by section and submitted, caseworkers
check and assign, reviewers declare and score, decisions are proposed, approved and released, and the
summaries are published.
"""

from datetime import timedelta

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from grants.accounts import operations as accounts
from grants.accounts.models import Municipality, Role, User
from grants.applications import operations as applying
from grants.applications import sections
from grants.applications.workflow import State
from grants.core.timeutil import at_moment, oslo_date
from grants.decisions import operations as decisions
from grants.decisions.models import Outcome
from grants.demo import DEMO_PASSWORD
from grants.extensions import db
from grants.outcomes import publishing
from grants.outcomes.models import AllocationSummary
from grants.review import operations as review
from grants.rounds.models import Round

FICTIONAL = "Fiktivt eksempel i demodata."

# 2024 (area 8): twelve grants. (kommune, amount applied, amount granted)
GRANTS_2024 = [
    ("0301", 1_000_000, 1_000_000), ("4601", 950_000, 950_000), ("5001", 900_000, 900_000),
    ("1103", 850_000, 850_000), ("4204", 850_000, 850_000), ("3907", 800_000, 800_000),
    ("3301", 800_000, 800_000), ("5501", 800_000, 800_000), ("1508", 800_000, 750_000),
    ("3403", 750_000, 750_000), ("4203", 750_000, 750_000), ("1804", 800_000, 800_000),
]
CONTINUING = ["0301", "4601", "5001", "1103", "4204", "3907", "3301", "5501", "1508"]  # 9 of the 12
# 2025 (area 5): 19 applications: 11 granted, 6 rejected, 2 dismissed.
GRANTED_2025 = [(n, a, a) for n, a in [
    ("0301", 1_100_000), ("4601", 1_000_000), ("5001", 950_000), ("1103", 950_000), ("4204", 900_000),
    ("3907", 900_000), ("3301", 900_000), ("3201", 850_000), ("1108", 850_000), ("4602", 800_000),
    ("5601", 750_000)]]
REJECTED_2025 = ["5501", "1508", "4003", "5007", "3405", "1506"]
DISMISSED_2025 = [("3205", "late"), ("3103", "outside_scheme")]

ACTIVITIES = ["mapping", "action_plan", "indicators", "religious_plan", "recruitment", "guide", "sector_measure"]


def _municipality(number):
    return db.session.scalar(select(Municipality).where(Municipality.number == number))


def _slug(name):
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a", " ": "-"})
    return name.lower().translate(table)


def ensure_applicant(number, admin):
    """The kommune's first user: registers, confirms the address, is approved by IMDi."""
    municipality = _municipality(number)
    email = f"tilskudd@{_slug(municipality.name)}.kommune.example"
    user = accounts.find_user_by_email(email)
    if user is None:
        user = accounts.register_municipal_user(
            email=email, name=f"Kontakt {municipality.name}", password=DEMO_PASSWORD,
            municipality=municipality, language="nn" if municipality.written_standard == "nynorsk" else "nb")
        accounts.confirm_email(accounts.queue_confirmation(user))
        accounts.approve_user(user, admin)
    return user


def answers_for(municipality, amount, index, year, *, continues=None, running_costs=False):
    own = amount // 4
    salary = (amount + own) * 2 // 3
    activity = ACTIVITIES[index % len(ACTIVITIES)]
    return {
        "applicant": {"partners": "", "contact_name": f"Kontakt {municipality.name}", "contact_role": "Rådgiver",
                      "contact_email": f"tilskudd@{_slug(municipality.name)}.kommune.example",
                      "contact_phone": "22 00 00 00"},
        "project": {
            "title": f"{municipality.name} mot rasisme og diskriminering",
            "summary": f"{FICTIONAL} {municipality.name} kommune vil kartlegge og motarbeide diskriminering i egne "
                       "tjenester og som arbeidsgiver.",
            "description": f"{FICTIONAL} Prosjektet har tre faser: kartlegging, tiltak og evaluering.",
            "activity_types": [activity, "mapping"] if activity != "mapping" else ["mapping"],
            "aimed_at": ["authority", "employer"], "target_groups": "Ansatte og innbyggere",
            "participants": str(20 + index * 3), "period_start": f"{year}-05-01", "period_end": f"{year + 1}-04-30",
        },
        "anchoring": {"action_plan": "adopted" if index % 2 == 0 else "in_progress",
                      "plan_name": "Handlingsplan mot rasisme og diskriminering", "plan_adopted_on": "2023-06-14",
                      "plan_link": "", "plan_goals": "Mål 1 og 2", "political_body": "Kommunestyret",
                      "political_date": "2023-06-14", "political_case": f"23/{100 + index}",
                      "administrative": "Kommunedirektøren eier prosjektet."},
        "involvement": {"mapping": "planned", "mapping_description": "",
                        "involved": ["affected_groups", "civil_society"], "involvement": "Referansegruppe."},
        "transfer": {"transfer_value": "Metode og erfaringer deles i nettverk med andre kommuner."},
        "measurement": {"goals": "Færre opplever diskriminering.", "indicators": "Undersøkelse før og etter."},
        "budget": {
            "cost_lines-0-category": "salary", "cost_lines-0-description": "Prosjektleder",
            "cost_lines-0-amount": str(salary), "cost_lines-1-category": "external",
            "cost_lines-1-description": "Kartlegging og opplæring", "cost_lines-1-amount": str(amount + own - salary),
            "amount_applied": str(amount), "own_contribution": str(own), "other_funding": "0",
            **({} if running_costs else {"no_running_costs": "y"}),
        },
        "history": {"earlier_projects": "", "continues": str(continues.id) if continues else ""},
    }


def _fill_and_submit(round_, user, answers, moment):
    with at_moment(moment):
        application = applying.start_application(round_, user)
        for section, values in answers.items():
            formdata = MultiDict([(k, v) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])])
            form = sections.build_form(application, section, formdata, csrf=False)
            sections.validate_section(application, section, form)
            applying.save_section(application, user, section, formdata, base_version=None, form=form)
        applying.submit_application(application, user, submission_key=f"demo-{round_.slug}-{user.id}",
                                    snapshot=sections.snapshot(application), problems=sections.problems(application))
    return application


CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)


def _review(application, reviewers, strength, moment):
    """Two reviewers declare themselves free of conflict and score; ``strength`` 1..6 sets the level."""
    with at_moment(moment):
        for offset, reviewer in enumerate(reviewers):
            review.declare(application, reviewer, conflict=False)
            values = {c.id: max(1, min(6, strength + (offset if c.position % 2 else 0))) for c in
                      application.round.criteria}
            comments = {c.id: "Svakt begrunnet." for c in application.round.criteria if values[c.id] <= 2}
            review.save_review(application, reviewer, values=values, comments=comments,
                               recommendation="grant" if strength >= 4 else "reject",
                               suggested_amount=None, submit=True)


def replay_round(round_, *, granted, rejected, dismissed, staff, continues=None):
    """Run one round from applications to a published summary. Idempotent: a round with a summary is skipped."""
    if db.session.scalar(select(AllocationSummary.id).where(AllocationSummary.round_id == round_.id)):
        return None
    admin, caseworker, approver, reviewers = staff
    continues = continues or {}
    opened = round_.opens_at
    applications = {}
    plan = [(n, applied, "granted") for n, applied, _amount in granted] + [(n, 600_000, "rejected") for n in rejected]
    for index, (number, amount, outcome) in enumerate(plan):
        user = ensure_applicant(number, admin)
        answers = answers_for(user.municipality, amount, index, round_.year, continues=continues.get(number))
        applications[number] = (_fill_and_submit(round_, user, answers, opened + timedelta(days=2 + index % 20)),
                                outcome)
    dismissed_apps = []
    for number, reason in dismissed:
        user = ensure_applicant(number, admin)
        if reason == "late":
            with at_moment(round_.deadline_at + timedelta(days=1, hours=10)):
                app = review.register_received(
                    round_, caseworker, municipality=user.municipality, title=f"{user.municipality.name}: "
                    f"tiltak mot diskriminering ({FICTIONAL})", amount_applied=500_000, channel="email",
                    received_at=round_.deadline_at + timedelta(days=1, hours=9), note="Kom på e-post etter fristen.")
        else:
            answers = answers_for(user.municipality, 500_000, 3, round_.year)
            answers["budget"]["cost_lines-0-description"] = "Ordinær drift av eksisterende tjeneste"
            app = _fill_and_submit(round_, user, answers, opened + timedelta(days=10))
        dismissed_apps.append((app, reason))

    check_time = round_.deadline_at + timedelta(days=3)
    with at_moment(check_time):
        for app, reason in dismissed_apps:
            checks = dict(CHECKS, in_time=reason != "late", within_scheme=reason != "outside_scheme")
            lang = _letter_language(app)
            text = DEMO_TEXTS[lang]["late" if reason == "late" else "running_costs"]
            review.formal_check(app, caseworker, checks=checks, accept=False, reason_code=reason, reason_text=text,
                                letter_language=lang)
        for app, _outcome in applications.values():
            review.formal_check(app, caseworker, checks=CHECKS, accept=True)
        for reviewer in reviewers:
            review.add_round_reviewer(round_, reviewer, caseworker)
        review.auto_assign(round_, caseworker, per_application=2)

    for app, outcome in applications.values():
        assigned = [a.reviewer for a in _assignments(app)]
        _review(app, assigned, 5 if outcome == "granted" else 2, check_time + timedelta(days=7))

    decide_time = check_time + timedelta(days=21)
    with at_moment(decide_time):
        granted_amounts = {n: amount for n, _applied, amount in granted}
        for number, (app, outcome) in applications.items():
            lang = _letter_language(app)
            words = DEMO_TEXTS[lang]
            if outcome == "granted":
                decisions.propose_decision(
                    app, caseworker, outcome=Outcome.granted, amount=granted_amounts[number],
                    purpose=words["purpose"].format(name=app.municipality.name, fictional=FICTIONAL),
                    conditions=words["conditions"], letter_language=lang)
            else:
                decisions.propose_decision(
                    app, caseworker, outcome=Outcome.rejected,
                    reasons={key: words[key] for key in ("rules", "facts", "considerations")}, letter_language=lang)
    with at_moment(decide_time + timedelta(days=2)):
        decisions.approve_all(round_, approver)
        decisions.release_round(round_, approver)
    with at_moment(decide_time + timedelta(days=5)):
        summary = publishing.publish(round_, admin)
    with at_moment(decide_time + timedelta(days=9)):
        _accept_grants(round_)
    return summary


# What the demo's caseworker writes into decisions, in the letter's written standard (a nynorsk kommune's letter is
# wholly nynorsk, the caseworker's words included).
DEMO_TEXTS = {
    "nb": {
        "late": "Søknaden kom inn etter fristen.",
        "running_costs": "Budsjettet dekker ordinær drift av en eksisterende tjeneste.",
        "purpose": "Tiltak mot rasisme og diskriminering i {name} ({fictional})",
        "conditions": "Tilskuddet skal brukes til tiltaket som er beskrevet i søknaden.",
        "rules": "Utlysningens kriterier for formål, gjennomføringsevne og overføringsverdi.",
        "facts": "Søknaden beskriver tiltaket og forankringen for svakt.",
        "considerations": "Andre søknader ble vurdert som sterkere innenfor rammen.",
    },
    "nn": {
        "late": "Søknaden kom inn etter fristen.",
        "running_costs": "Budsjettet dekkjer ordinær drift av ei eksisterande teneste.",
        "purpose": "Tiltak mot rasisme og diskriminering i {name} ({fictional})",
        "conditions": "Tilskotet skal brukast til tiltaket som er skildra i søknaden.",
        "rules": "Kriteria i utlysinga for føremål, gjennomføringsevne og overføringsverdi.",
        "facts": "Søknaden skildrar tiltaket og forankringa for svakt.",
        "considerations": "Andre søknader vart vurderte som sterkare innanfor ramma.",
    },
}


def _letter_language(application):
    return "nn" if application.municipality.written_standard == "nynorsk" else "nb"


def demo_account_number(seed):
    """A made-up account number that passes the MOD11 check (python-stdnum's no.kontonr), one per ``seed``."""
    from stdnum.no import kontonr

    for n in range(seed * 100, seed * 100 + 100):
        candidate = f"9999{n:06d}"[-10:]
        for check in "0123456789":
            if kontonr.is_valid(candidate + check):
                return candidate + check
    raise ValueError(seed)


def _accept_grants(round_):
    """The kommuner with demo users accept their grants (a made-up account each); the others' grants wait."""
    from grants.followup import operations as followup
    from grants.followup.models import Grant

    for grant in db.session.scalars(select(Grant).where(Grant.round_id == round_.id).order_by(Grant.id)):
        staff = db.session.scalars(select(User).where(User.municipality_id == grant.application.municipality_id,
                                                      User.role == Role.municipal).order_by(User.id)).first()
        if staff is not None:
            followup.accept_grant(grant, staff, account=demo_account_number(grant.application_id),
                                  confirms_conditions=True)


def _pay_grants(round_, moment):
    """Each accepted grant of the round is paid in full: proposed by the caseworker, approved by the approver,
    marked paid the next day (the payment file's way through the accounting system)."""
    from grants.followup import operations as followup
    from grants.followup.models import Grant, GrantState

    _admin, caseworker, approver, _reviewers = _staff()
    grants = db.session.scalars(select(Grant).where(Grant.round_id == round_.id, Grant.state == GrantState.accepted)
                                .order_by(Grant.id)).all()
    with at_moment(moment):
        payments = [followup.approve_payment(followup.propose_payment(g, caseworker, followup.payable_now(g)),
                                             approver) for g in grants if followup.payable_now(g)]
    with at_moment(moment + timedelta(days=1)):
        for payment in payments:
            followup.mark_paid(payment, caseworker, (moment + timedelta(days=1)).date())
    return grants


def _report_answers(grant, index, *, unused=0, done=None):
    lines = grant.application.cost_lines
    spent = [line.amount for line in lines]
    if unused and spent:
        spent[-1] = max(0, spent[-1] - unused)
    answers = {
        "done": done or f"Kommunen gjennomførte tiltaket som planlagt, med kurs, samlinger og en kartlegging. "
                        f"({FICTIONAL})",
        "participants": str(25 + 7 * index),
        "results": "Tiltaket nådde de ansatte og innbyggerne det var ment for; erfaringene er samlet i en rapport.",
        "transfer_value": "Opplegget og erfaringene er delt med nabokommunene og på kommunens nettsider.",
        "own_contribution": str(grant.application.own_contribution or 0), "unused": str(unused), "comments": "",
    }
    answers.update({f"spending-{i}": str(amount) for i, amount in enumerate(spent)})
    return answers, spent


def _write_report(grant, person, index, moment, **kwargs):
    from grants.followup import reports

    answers, spent = _report_answers(grant, index, **kwargs)
    with at_moment(moment):
        report = reports.draft_for(grant, person)
        reports.save_draft(report, person, answers)
        return reports.submit(report, person, participants=int(answers["participants"]), spending=spent,
                              own_contribution=int(answers["own_contribution"]), unused=int(answers["unused"]))


def _report_with_claim(grant, person, index, moment, caseworker, approver):
    """A report that leaves 120,000 kroner unused: approved with a repayment claim, which the approver approves
    (the letter goes to the kommune), and which the kommune repays in two parts."""
    from grants.followup import repayments, reports

    report = _write_report(grant, person, index, moment, unused=120_000)
    with at_moment(moment + timedelta(days=30)):
        claim = reports.approve_with_claim(
            report, caseworker, "Takk for rapporten. Ubrukte midler kreves tilbake.", amount=120_000,
            reason="Midler som ikke ble brukt i prosjektet, jf. rapporten og vilkårene i tilskuddsbrevet.",
            due_on=oslo_date(moment + timedelta(days=60)))
    with at_moment(moment + timedelta(days=31)):
        repayments.approve_claim(claim, approver)
    for days, amount in ((45, 70_000), (58, 50_000)):
        with at_moment(moment + timedelta(days=days)):
            repayments.record_repayment(claim, caseworker, amount=amount,
                                        received_on=oslo_date(moment + timedelta(days=days)))


def follow_up_2024(round_):
    """What came after the 2024 grants: all paid; the reports in by the deadline (1 March 2025) and approved,
    except one returned for changes and sent again, one never sent (overdue), and one that left money unused:
    approved with a repayment claim, which a second person approves and the kommune repays in two parts."""
    from grants.followup import reports

    if _paid_already(round_):
        return False
    decided = round_.deadline_at + timedelta(days=24)
    grants = _pay_grants(round_, decided + timedelta(days=30))
    _admin, caseworker, approver, _reviewers = _staff()
    due = round_.deadline_at.replace(year=round_.year + 1)  # February the year after: before 1 March
    for index, grant in enumerate(grants):
        person = grant.answered_by
        moment = due + timedelta(days=index)
        if index == len(grants) - 2:
            continue  # overdue: no report sent
        if index == len(grants) - 1:
            _report_with_claim(grant, person, index, moment, caseworker, approver)
            continue
        report = _write_report(grant, person, index, moment)
        if index == len(grants) - 3:
            with at_moment(moment + timedelta(days=10)):
                reports.return_for_changes(report, caseworker, "Legg ved prosjektregnskapet og si mer om hvor "
                                           "mange som deltok på hver samling.",
                                           oslo_date(moment + timedelta(days=31)))
            report = _write_report(grant, person, index, moment + timedelta(days=20),
                                   done="Kommunen holdt seks samlinger med 20–40 deltakere hver; regnskapet "
                                        f"er lagt ved. ({FICTIONAL})")
        with at_moment(moment + timedelta(days=30)):
            reports.approve(report, caseworker, "Takk for rapporten.")
    return True


def _assignments(application):
    from grants.review.models import Assignment, AssignmentState

    return db.session.scalars(select(Assignment).where(Assignment.application_id == application.id,
                                                       Assignment.state != AssignmentState.removed)
                              .order_by(Assignment.id)).all()


def _staff():
    def first(role):
        return db.session.scalar(select(User).where(User.role == role).order_by(User.id))

    reviewers = db.session.scalars(select(User).where(User.role == Role.reviewer).order_by(User.id)).all()
    return first(Role.admin), first(Role.caseworker), first(Role.approver), reviewers


def _paid_already(round_):
    from grants.followup.models import Grant, Payment

    return db.session.scalar(select(Payment.id).join(Grant, Grant.id == Payment.grant_id)
                             .where(Grant.round_id == round_.id).limit(1)) is not None


def replay_history(scheme_id):
    """Replay 2024 and 2025 for the scheme if not done. Returns a short report."""
    from grants.applications.models import Application

    rounds = {r.slug: r for r in db.session.scalars(select(Round).where(Round.scheme_id == scheme_id))}
    staff = _staff()
    report = []
    if replay_round(rounds["2024"], granted=GRANTS_2024, rejected=[], dismissed=[], staff=staff) is not None:
        report.append("2024 replayed")
    earlier = {
        app.municipality.number: app
        for app in db.session.scalars(select(Application).where(
            Application.round_id == rounds["2024"].id,
            Application.state.in_([State.granted, State.reported, State.closed])))
        if app.municipality.number in CONTINUING
    }
    if replay_round(rounds["2025"], granted=GRANTED_2025, rejected=REJECTED_2025, dismissed=DISMISSED_2025,
                    staff=staff, continues=earlier) is not None:
        report.append("2025 replayed")
    if follow_up_2024(rounds["2024"]):
        report.append("2024 followed up")
    if _paid_already(rounds["2025"]) is False:
        _pay_grants(rounds["2025"], rounds["2025"].deadline_at + timedelta(days=24 + 20))
        report.append("2025 paid")
    return "history: " + (", ".join(report) if report else "already there")
