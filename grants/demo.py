"""Demo data, loaded by `flask grants seed-demo` through the real operations. Safe to run again."""

import math
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import select

from grants.accounts import mfa, second_factor
from grants.accounts import operations as accounts
from grants.accounts.models import Municipality, Role, User, UserStatus
from grants.accounts.register import import_municipalities, import_organisation_numbers
from grants.core.timeutil import OSLO, now_utc, oslo_date
from grants.extensions import db
from grants.rounds import operations as rounds
from grants.rounds.models import Round

DEMO_PASSWORD = "demo-tilskudd-2025"  # noqa: S105 - printed by `make run`, demo only
# The demo's IMDi staff share one authenticator app key (published: demo only). `make run` prints it as a QR code
# and an otpauth URI for a phone's app; `flask grants demo-code` prints the code of the moment.
DEMO_TOTP_SECRET = "IMDIDEMOTILSKUDDTOFAKTORDEMOKODE"  # noqa: S105 - printed by `make run`, demo only
SCHEME_SLUG = "tuki-rasisme-diskriminering"

STAFF = (
    ("admin@imdi.example", "Astrid Administrator", Role.admin),
    ("saksbehandler1@imdi.example", "Sara Saksbehandler", Role.caseworker),
    ("saksbehandler2@imdi.example", "Simen Saksbehandler", Role.caseworker),
    ("godkjenner@imdi.example", "Gunnar Godkjenner", Role.approver),
    ("fagvurderer1@imdi.example", "Frida Fagvurderer", Role.reviewer),
    ("fagvurderer2@imdi.example", "Filip Fagvurderer", Role.reviewer),
)

# Kommune staff: (kommune number, e-mail, name, language). The first of each kommune is its administrator.
MUNICIPAL_STAFF = (
    ("0301", "oslo@kommune.example", "Ola Nordmann", "nb"),
    ("4601", "bergen@kommune.example", "Kari Vestland", "nn"),
    ("5001", "trondheim@kommune.example", "Trond Heim", "nb"),
    ("4203", "arendal@kommune.example", "Anne Arendal", "nb"),
    ("1508", "alesund@kommune.example", "Åse Ålesund", "nn"),
    ("3907", "sandefjord@kommune.example", "Sander Fjord", "en"),
)

SCHEME_TEXT = {
    "title_nb": "Tilskudd til utvikling av kvalifiserings- og integreringstiltak: "
                "Arbeid for mangfold og mot rasisme og diskriminering",
    "title_nn": "Tilskot til utvikling av kvalifiserings- og integreringstiltak: "
                "Arbeid for mangfald og mot rasisme og diskriminering",
    "title_en": "Grant for developing qualification and integration measures: "
                "Work for diversity and against racism and discrimination",
    "description_nb": "Kommuner kan søke om tilskudd til tiltak mot rasisme og diskriminering, "
                      "alene eller sammen med andre kommuner.",
    "description_nn": "Kommunar kan søkje om tilskot til tiltak mot rasisme og diskriminering, "
                      "åleine eller saman med andre kommunar.",
    "description_en": "Municipalities can apply for grants for measures against racism and discrimination, "
                      "alone or together with other municipalities.",
}


def round_text(year, area):
    return {
        "title_nb": f"Mangfold og mot rasisme og diskriminering {year} (satsingsområde {area})",
        "title_nn": f"Mangfald og mot rasisme og diskriminering {year} (satsingsområde {area})",
        "title_en": f"Diversity and against racism and discrimination {year} (priority area {area})",
        "text_nb": (
            "Tilskuddet skal bidra til at kommuner utvikler og prøver ut tiltak mot rasisme og diskriminering. "
            "Bare kommuner kan søke, alene eller sammen med andre kommuner; kommunen som har prosjektansvaret "
            "sender søknaden. Vi legger vekt på formål, gjennomføringsevne og nasjonal overføringsverdi, og på om "
            "tiltaket er forankret i en handlingsplan mot rasisme og diskriminering og i kommunens politiske og "
            "administrative ledelse. Kommunen må bidra med egenandel, tiltaket må ha minst ti deltakere, og "
            "ordinær drift dekkes ikke."
        ),
        "text_nn": (
            "Tilskotet skal bidra til at kommunar utviklar og prøver ut tiltak mot rasisme og diskriminering. "
            "Berre kommunar kan søkje, åleine eller saman med andre kommunar; kommunen som har prosjektansvaret "
            "sender søknaden. Vi legg vekt på føremål, gjennomføringsevne og nasjonal overføringsverdi, og på om "
            "tiltaket er forankra i ein handlingsplan mot rasisme og diskriminering og i den politiske og "
            "administrative leiinga i kommunen. Kommunen må bidra med eigendel, tiltaket må ha minst ti deltakarar, "
            "og ordinær drift vert ikkje dekt."
        ),
        "text_en": (
            "The grant helps municipalities develop and try out measures against racism and discrimination. "
            "Only municipalities may apply, alone or jointly; the municipality responsible for the project "
            "submits the application. We weigh purpose, capacity to implement and national transfer value, and "
            "whether the measure is anchored in an action plan against racism and discrimination and backed by "
            "the municipality's political and administrative leadership. The municipality contributes its own "
            "share, the measure has at least ten participants, and ordinary running costs are not covered."
        ),
    }


def _opening(day, hour=9):
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=OSLO)


def ensure_staff():
    created = []
    for email, name, role in STAFF:
        user = accounts.find_user_by_email(email)
        if user is None:
            user = accounts.create_staff_user(email=email, name=name, password=DEMO_PASSWORD, role=role)
            created.append(user)
        ensure_second_factor(user)
    return created


def ensure_second_factor(user):
    """Enrol a demo staff user with DEMO_TOTP_SECRET through the real enrolment (a code of this moment), unless
    they have a second factor already."""
    if mfa.credential_of(user) is not None:
        return None
    moment = time.time()
    # The code of the step before now (accepted: one step either side), so that the code of this moment, which
    # `make run` and `flask grants demo-code` show, still works for the first login.
    code = second_factor.code_for_step(DEMO_TOTP_SECRET, second_factor.step_at(moment) - 1)
    return mfa.enrol(user, DEMO_TOTP_SECRET, code, moment)


def demo_code(moment=None):
    """(code, seconds it stays the newest) of the demo staff's authenticator app now."""
    moment = time.time() if moment is None else moment
    step = second_factor.step_at(moment)
    left = (step + 1) * second_factor.STEP_SECONDS - moment
    return second_factor.code_for_step(DEMO_TOTP_SECRET, step), max(1, math.ceil(left))


def demo_totp_uri():
    """The otpauth URI of the demo staff's app key, for a phone's authenticator app."""
    return second_factor.provisioning_uri(DEMO_TOTP_SECRET, "demo@imdi.example", "IMDi tilskudd (demo)")


def ensure_municipal_staff():
    admin = accounts.find_user_by_email(STAFF[0][0])
    created = []
    for number, email, name, language in MUNICIPAL_STAFF:
        if accounts.find_user_by_email(email) is not None:
            continue
        municipality = db.session.scalar(select(Municipality).where(Municipality.number == number))
        user = accounts.register_municipal_user(email=email, name=name, password=DEMO_PASSWORD,
                                                municipality=municipality, language=language)
        accounts.confirm_email(accounts.queue_confirmation(user))
        accounts.approve_user(user, admin)
        created.append(user)
    return created


def ensure_rounds(today=None):
    """The 2024 and 2025 rounds as they were, and one round open now with its deadline weeks ahead."""
    admin = accounts.find_user_by_email(STAFF[0][0])
    scheme = rounds.get_or_create_scheme(SCHEME_SLUG, **SCHEME_TEXT)
    today = today or oslo_date(now_utc())
    deadline = today + timedelta(days=28)  # the open round's year is its deadline's
    # The 2024 projects reported by 1 March 2025; the 2025 projects run through 2026 and report by 1 March 2027.
    wanted = [
        dict(slug="2024", year=2024, area_number=8, budget=10_000_000, opens_at=_opening(date(2024, 1, 5)),
             deadline_date=date(2024, 2, 9), reporting_deadline=date(2025, 3, 1), **round_text(2024, 8)),
        dict(slug="2025", year=2025, area_number=5, budget=10_000_000, opens_at=_opening(date(2025, 1, 24)),
             deadline_date=date(2025, 2, 19), reporting_deadline=date(2027, 3, 1), **round_text(2025, 5)),
        dict(slug=f"{deadline.year}-open", year=deadline.year, area_number=5, budget=10_000_000,
             opens_at=_opening(today - timedelta(days=3), 8), deadline_date=deadline,
             reporting_deadline=date(deadline.year + 1, 3, 1), **round_text(deadline.year, 5)),
    ]
    created = []
    for values in wanted:
        exists = db.session.scalar(select(Round).where(Round.scheme_id == scheme.id, Round.slug == values["slug"]))
        if exists is None:
            created.append(rounds.create_round(scheme, admin, **values))
    return created


@contextmanager
def _one_hash_per_demo_password():
    """While the demo data is made, each password is hashed once and that hash reused for every account with it.

    The demo's accounts share one published password (DEMO_PASSWORD), and scrypt, rightly slow, took 0.1 s for
    each of 34 accounts: half of seed-demo. Real accounts
    never come here: outside this block every password gets its own salt, as ``User.set_password`` makes it."""
    from grants.accounts import models

    real = models.generate_password_hash
    made = {}

    def once(password, method="scrypt"):
        if (password, method) not in made:
            made[password, method] = real(password, method=method)
        return made[password, method]

    models.generate_password_hash = once
    try:
        yield
    finally:
        models.generate_password_hash = real


def seed_demo(today=None):
    """Load the demo data if it is not there. Returns a short report."""
    with _one_hash_per_demo_password():
        created_m, _updated = import_municipalities()
        import_organisation_numbers()
        staff = ensure_staff()
        municipal = ensure_municipal_staff()
        made_rounds = ensure_rounds(today)
        db.session.flush()
        from grants.demo_history import replay_history

        scheme = rounds.get_or_create_scheme(SCHEME_SLUG, **SCHEME_TEXT)
        history = replay_history(scheme.id)
    return (
        f"municipalities {created_m} new; staff {len(staff)} new; municipal users {len(municipal)} new; "
        f"rounds {len(made_rounds)} new; {history}"
    )


def demo_logins():
    users = db.session.scalars(
        select(User).where(User.status == UserStatus.active, User.email.like("%.example")).order_by(User.id)
    ).all()
    return [(u.email, u.role.value, u.municipality.name if u.municipality else "IMDi") for u in users]
