"""Rendering notices into e-mail, without a database: language, subjects, Message-ID, header injection."""

import re
from email import message_from_bytes, policy

import pytest

from grants import create_app
from grants.i18n import language as force_locale
from grants.notify.delivery import backoff, is_permanent
from grants.notify.mailer import _flatten
from grants.notify.messages import InvalidAddress, build_message, build_wire, message_id_for, subject_for
from grants.notify.models import Notice

RECEIPT_CONTEXT = {
    "reference": "2025-0007", "title": "Prosjekt", "municipality_name": "Bergen", "application_id": 7,
    "round_title_nb": "Mangfold og mot rasisme 2025", "round_title_nn": "Mangfald og mot rasisme 2025",
    "round_title_en": "Diversity and against racism 2025", "received_at": "2025-02-19T12:00:00+00:00",
}


@pytest.fixture(scope="module")
def app():
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", OUTBOX_BACKOFF_SECONDS=30)
    with app.app_context():
        yield app


def notice(**values):
    defaults = dict(id=7, key="receipt:7:kari@bergen.kommune.no", kind="receipt", language="nb",
                    recipient_email="kari@bergen.kommune.no", recipient_name="Kari Nordmann",
                    context=dict(RECEIPT_CONTEXT), attachments=None)
    return Notice(**(defaults | values))


@pytest.mark.parametrize("language, title", [
    ("nb", "Mangfold og mot rasisme 2025"), ("nn", "Mangfald og mot rasisme 2025"),
    ("en", "Diversity and against racism 2025"),
])
def test_message_is_in_the_recipients_language(app, language, title):
    message = build_message(notice(language=language))
    assert message["Content-Language"] == language
    assert title in message.get_body(("plain",)).get_content()
    assert f'lang="{language}"' in message.get_body(("html",)).get_content()
    with force_locale(language):
        assert str(message["Subject"]) == subject_for("receipt", RECEIPT_CONTEXT)
    assert "2025-0007" in str(message["Subject"])


def test_message_id_depends_on_the_notice_only(app):
    first, second = build_message(notice()), build_message(notice())
    assert first["Message-ID"] == second["Message-ID"] == message_id_for(notice())
    assert first["Message-ID"].startswith("<notice-7-") and first["Message-ID"].endswith("@imdi.example>")
    assert message_id_for(notice(id=8, key="receipt:8:x")) != first["Message-ID"]


def test_line_breaks_in_a_name_or_title_cannot_add_headers(app):
    context = RECEIPT_CONTEXT | {"reference": "2025-0007\r\nBcc: victim@evil.example"}
    outgoing = build_wire(notice(recipient_name="Eve\r\nBcc: victim@evil.example\nX-Evil: 1", context=context))
    wire = _flatten(outgoing)  # the bytes that go over SMTP, as they are
    head = wire.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\r\nX-Evil" not in head
    parsed = message_from_bytes(wire, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["kari@bergen.kommune.no"]
    assert "Eve" in parsed["To"].addresses[0].display_name and "@" not in parsed["To"].addresses[0].display_name
    assert "\n" not in str(parsed["Subject"])


@pytest.mark.parametrize("address", ["kari@bergen.no, evil@example.com", "kari", "", "kari@bergen.no\r\nBcc: x@y"])
def test_an_address_that_is_not_exactly_one_address_is_refused(app, address):
    with pytest.raises(InvalidAddress):
        build_message(notice(recipient_email=address))
    assert is_permanent(InvalidAddress("x"))


def test_an_address_with_a_norwegian_domain_goes_out_in_ascii_and_one_with_a_norwegian_name_part_is_refused(app):
    wire = build_wire(notice(recipient_email="kari@bø.kommune.no"))
    assert wire.recipients == ("kari@xn--b-5ga.kommune.no",)
    # IDNA 2008 (UTS 46), not Python's IDNA 2003 codec, which would send straße.de's mail to strasse.de
    assert build_wire(notice(recipient_email="hans@straße.de")).recipients == ("hans@xn--strae-oqa.de",)
    assert message_from_bytes(wire.data, policy=policy.default)["To"].addresses[0].domain == "xn--b-5ga.kommune.no"
    with pytest.raises(InvalidAddress):
        build_wire(notice(recipient_email="kåre@bergen.kommune.no"))


def test_deadline_reminder_subject_says_tomorrow_rather_than_one_days(app):
    context = {"round_title": "Mangfold 2025"}
    with force_locale("en"):
        assert subject_for("deadline_reminder", context | {"days": 7}) == "7 days to the deadline: Mangfold 2025"
        tomorrow = subject_for("deadline_reminder", context | {"days": 1})
    assert "1 days" not in tomorrow and "tomorrow" in tomorrow
    for language in ("nb", "nn"):
        with force_locale(language):
            assert "1 days" not in subject_for("deadline_reminder", context | {"days": 1})


def test_report_reminder_subject_shows_the_due_date_written_out(app):
    reminder = notice(kind="report_reminder", key="report_reminder:application=7:days=30",
                      context={"reference": "2025-0007", "title": "Prosjekt", "due": "2026-06-30", "days": 30,
                               "application_id": 7, "municipality_name": "Bergen"})
    message = build_message(reminder)
    assert "30. juni 2026" in str(message["Subject"]) and "2026-06-30" not in str(message["Subject"])
    assert "2025-0007" in str(message["Subject"])


def test_backoff_doubles_from_the_configured_start(app):
    assert [backoff(n) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 240, 480]


def test_smtp_5xx_is_permanent_and_4xx_is_not():
    import smtplib

    assert is_permanent(smtplib.SMTPDataError(554, b"no"))
    assert not is_permanent(smtplib.SMTPDataError(451, b"later"))
    assert is_permanent(smtplib.SMTPRecipientsRefused({"a@b.no": (550, b"unknown user")}))
    assert not is_permanent(smtplib.SMTPRecipientsRefused({"a@b.no": (450, b"greylisted")}))
    assert not is_permanent(smtplib.SMTPServerDisconnected("gone"))
    assert not is_permanent(ConnectionRefusedError())


def test_a_long_name_full_of_address_syntax_still_parses_as_one_recipient(app):
    name = "Kari Nordmann, Bcc: x@evil.example <y@evil.example>; " * 4  # long enough to be folded
    parsed = message_from_bytes(_flatten(build_wire(notice(recipient_name=name))), policy=policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["kari@bergen.kommune.no"]


def test_what_is_sent_is_well_formed_mime_that_reads_back_as_it_was_written(app):
    # build_wire's bytes are what goes over SMTP: a long Norwegian name in encoded words of at most 75
    # characters, no line over 998, the text 8bit where it can be, a file with a Norwegian name as RFC 2231.
    name = "Kari Ødegård Ålesund-Østrem med et svært langt navn som må brettes over flere linjer"
    pdf = b"%PDF-1.7 " + bytes(range(256))
    wire = build_wire(notice(recipient_name=name), attachments=[("vedtak for Bø.pdf", "application/pdf", pdf)])
    head, _blank, _rest = wire.data.partition(b"\r\n\r\n")
    assert b"\n" not in wire.data.replace(b"\r\n", b"")  # CRLF line ends throughout
    assert max(len(line) for line in wire.data.split(b"\r\n")) <= 998
    words = re.findall(rb"=\?utf-8\?[bq]\?[^?]*\?=", head, re.I)
    assert words and all(len(word) <= 75 for word in words)
    assert head.decode("ascii").count("MIME-Version") == 1
    parsed = message_from_bytes(wire.data, policy=policy.default)
    to = parsed["To"].addresses
    assert [a.addr_spec for a in to] == ["kari@bergen.kommune.no"] and "Ødegård" in to[0].display_name
    assert str(parsed["From"].addresses[0].display_name) == "IMDi tilskudd"
    assert parsed["Message-ID"] == wire.message_id and parsed["Subject"] == wire.subject
    assert parsed["Content-Language"] == "nb" and parsed.get_content_type() == "multipart/mixed"
    assert wire.sender == "tilskudd@imdi.example" and wire.recipients == ("kari@bergen.kommune.no",)
    text = parsed.get_body(("plain",))
    assert text["Content-Transfer-Encoding"] == "8bit" and "Kari Ødegård" in text.get_content()
    [attachment] = parsed.iter_attachments()
    assert attachment.get_filename() == "vedtak for Bø.pdf" and attachment.get_content() == pdf


def test_a_long_norwegian_file_name_is_shortened_and_keeps_its_extension(app):
    name = "Vedtak om tilskudd til Ålesund, Ørsta og Ås kommuner – " * 20 + ".pdf"
    wire = build_wire(notice(), attachments=[(name, "application/pdf", b"%PDF-1.7")])
    assert max(len(line) for line in wire.data.split(b"\r\n")) <= 998
    [attachment] = message_from_bytes(wire.data, policy=policy.default).iter_attachments()
    assert attachment.get_filename().endswith(".pdf") and len(attachment.get_filename()) <= 60
    assert attachment.get_filename().startswith("Vedtak om tilskudd til Ålesund")


def test_a_line_too_long_for_smtp_is_sent_quoted_printable(app):
    long_title = "Prosjekt " + "veldig langt " * 100  # one line of 1,300 characters in both bodies
    wire = build_wire(notice(context=dict(RECEIPT_CONTEXT, title=long_title)))
    assert max(len(line) for line in wire.data.split(b"\r\n")) <= 998
    parsed = message_from_bytes(wire.data, policy=policy.default)
    text = parsed.get_body(("plain",))
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert long_title.strip() in text.get_content()


CANCELLED = {"reference": "2025-0007", "title": "Prosjekt", "municipality_name": "Bergen", "outcome": "granted",
             "amount": 300_000, "reason": "Prosjektet er lagt ned", "application_id": 7}
DEADLINE = {"round_id": 3, "round_title_nb": "Mangfold 2025", "round_title_nn": "Mangfald 2025",
            "round_title_en": "Diversity 2025", "deadline_at": "2025-02-26T22:59:59+00:00",
            "old_deadline_at": "2025-02-19T22:59:59+00:00", "reason": "Budsjettet er økt"}


@pytest.mark.parametrize(("kind", "context", "words"), [
    ("decision_cancelled", CANCELLED, {"nb": "annullert", "nn": "annullert", "en": "cancelled"}),
    ("deadline_changed", DEADLINE, {"nb": "har endret søknadsfristen", "nn": "har endra søknadsfristen",
                                    "en": "has changed the application deadline"}),
])
@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_the_notices_of_a_withdrawn_decision_and_a_moved_deadline_read_in_each_language(app, kind, context, words,
                                                                                       language):
    message = build_message(notice(kind=kind, key=f"{kind}:x", language=language, context=dict(context)))
    text = message.get_body(("plain",)).get_content()
    assert words[language] in text and context["reason"] in text
    assert f'lang="{language}"' in message.get_body(("html",)).get_content()
    if kind == "deadline_changed":
        days = {"en": ("26 February 2025", "19 February 2025")}.get(language,
                                                                     ("26. februar 2025", "19. februar 2025"))
        assert all(day in text for day in days)  # Oslo days written out, the old deadline and the new
    else:
        assert "2025-0007" in str(message["Subject"]) and "/saksbehandling/soknader/7" in text


FOLLOW_UP = {"reference": "2025-0007", "title": "Prosjekt", "municipality_name": "Bergen", "application_id": 7,
             "amount": 300_000, "account_number": "86011117947", "reporting_deadline": "2026-12-01",
             "reason": "Prosjektleder har sluttet", "answer_by": "2026-12-10", "paid_on": "2026-11-30",
             "from_imdi": True, "author": "Kari Saksbehandler", "number": 2, "grant_id": 3,
             "assessment": "Legg ved regnskapet.", "resubmit_by": "2027-01-15", "participants": 12, "spent": 1000}


@pytest.mark.parametrize(("kind", "words"), [
    ("grant_accepted", {"nb": "har tatt imot tilskuddet", "nn": "har teke imot tilskotet",
                        "en": "has accepted the grant"}),
    ("grant_declined", {"nb": "har takket nei", "nn": "har takka nei", "en": "has declined the grant"}),
    ("grant_answer_reminder", {"nb": "venter på svar", "nn": "ventar på svar", "en": "waits for your answer"}),
    ("grant_answer_overdue", {"nb": "har ikke fått svar", "nn": "har ikkje fått svar", "en": "has no answer yet"}),
    ("payment_made", {"nb": "har utbetalt", "nn": "har betalt ut", "en": "has paid"}),
    ("case_message", {"nb": "har skrevet til dere", "nn": "har skrive til dykk", "en": "has written to you"}),
    ("report_received", {"nb": "har mottatt versjon 2", "nn": "har motteke versjon 2", "en": "has received version 2"}),
    ("report_submitted", {"nb": "har sendt versjon 2", "nn": "har sendt versjon 2", "en": "has sent version 2"}),
    ("report_returned", {"nb": "Legg ved regnskapet.", "nn": "Legg ved regnskapet.", "en": "Legg ved regnskapet."}),
    ("report_returned", {"nb": "for endringer", "nn": "for endringar", "en": "for changes"}),
    ("report_approved", {"nb": "har godkjent rapporten", "nn": "har godkjent rapporten",
                         "en": "has approved the report"}),
])
@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_the_follow_up_notices_read_in_each_language_within_the_common_layout(app, kind, words, language):
    message = build_message(notice(kind=kind, key=f"{kind}:x", language=language, context=dict(FOLLOW_UP)))
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    for body in (text, html):
        assert words[language] in body and "2025-0007" in body and "Kari Nordmann" in body
    assert f'lang="{language}"' in html and "<hr>" in html and "tilskudd@imdi.example" in text.splitlines()[-1]
    assert "2025-0007" in str(message["Subject"])


# What the decision e-mail says of appeals agrees with its letter (grants.decisions.letters: the appeal paragraph
# where the round allows appeals, else "final").
APPEAL_WORDS = {"nb": "hvordan dere kan klage", "nn": "korleis de kan klage", "en": "how to appeal"}
FINAL_WORDS = {"nb": "kan ikke påklages", "nn": "kan ikkje klagast på", "en": "cannot be appealed"}


@pytest.mark.parametrize("outcome", ["granted", "rejected", "dismissed"])
@pytest.mark.parametrize("appeals", [True, False])
@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_the_decision_email_speaks_of_appeals_only_where_the_round_allows_them(app, outcome, appeals, language):
    context = {"reference": "2025-0007", "title": "Prosjekt", "municipality_name": "Bergen", "outcome": outcome,
               "amount": 300_000 if outcome == "granted" else None, "application_id": 7, "appeals_allowed": appeals}
    message = build_message(notice(kind="decision", key="decision:1:x", language=language, context=context))
    for body in (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()):
        assert (APPEAL_WORDS[language] in body) == appeals, body
        assert (FINAL_WORDS[language] in body) == (not appeals), body
