"""The access policy as data: for every URL rule of the app, every HTTP method it takes (HEAD and OPTIONS aside)
and every kind of visitor, what must happen. tests/security/test_access_policy.py builds a world with one object
of each kind, asks every rule as every role and compares the answer with this table; a rule missing here, or a
row whose rule is gone, fails that test.

This is what the product SHOULD do (grants/*/permissions.py, the views' guards, DESIGN.md rule 8, DOMAIN.md),
not a recording of what it does. Where the two differ, the cell is listed in KNOWN_DEVIATIONS with the reason;
the test checks that cell on its own as a strict xfail, so the rest of its row stays guarded.

Outcomes (see ``classify`` in the test; every POST carries a valid CSRF token, so only access decides):

* allowed   -- 2xx; a 3xx that is not the sign-in redirect below; or 422, the page of a form that failed
               validation (the view only validates a form after its permission check). Nothing else: a 400,
               403, 404, 409 or 5xx is never "allowed".
* forbidden -- 403.
* not_found -- 404. Another kommune's applications are hidden, not refused: a kommune learns nothing about the
               applications of others, not even that an id exists.
* login     -- 302 to the sign-in page /konto/logg-inn with ``next`` set (what login_required answers). A redirect
               to the sign-in page without ``next`` (after confirming an e-mail address) is an ordinary "allowed".

Roles (columns, in this order):

  an  anonymous
  ls  lead_staff           kommune staff of the lead (applying) kommune
  la  lead_admin           the lead kommune's administrator (User.is_municipality_admin)
  ps  partner_staff        staff of a partner kommune on the joint application (ApplicationPartner)
  ok  other_kommune        staff of a kommune with no part in the application; that kommune's administrator, so
                           that approving another kommune's users is tried too
  cw  caseworker
  rv  reviewer             assigned to the application and declared free of conflict (assignment active)
  ru  reviewer_undeclared  assigned, impartiality not yet declared (assignment assigned)
  rn  reviewer_unassigned  a reviewer with no assignment on the application
  rc  reviewer_conflicted  assigned, declared a conflict (assignment removed)
  ap  approver
  ad  admin                IMDi's administrator

The ``on`` column names the object of the world the rule's URL is built on (its ids, slug, token or file):

  -             the rule takes no argument
  static        a file of the static folder
  round         the open round that holds all the applications below
  published     a closed round with a published allocation summary (round id, version, summary id, scheme slug)
  notice        a notice in the outbox (a failed one)
  pending_user  a kommune user of the lead kommune waiting for approval
  staff_user    an IMDi caseworker with a second factor (the one who made the world), none of the roles
  email_token   a valid e-mail confirmation token (of the pending user)
  reset_token   a valid password reset token (of a user who is none of the roles)
  unlock_token  a valid link that lifts the pause on logging in (for the same user's address)
  invitation_token  a valid invitation link, sent by the lead kommune's administrator
  draft         the joint application (lead kommune + partner kommune) as a draft, in the open round
  submitted     the same kind of joint application, submitted (waiting for the formal check)
  in_review     ... accepted for review; reviewers assigned as the roles say; a proposed grant decision
  decided       ... granted and released (decision letter sent, within the appeal window, no appeal yet)
  appealed      ... granted, released and appealed by the lead kommune (the appeal is lodged); its grant accepted,
                paid in part, a payment proposed, a repayment claim proposed, and its report a draft with one document
  reported      ... granted, released, its grant accepted and its report sent with one document (version 1)
  internal_note the in_review application's internal note (IMDi's own) and the document attached to it; the
                in_review application itself has IMDi's open request for information, with a document attached
  claimed       the appealed application, with a repayment claim approved and sent (the appealed object's own
                claim is a proposal)

Every URL argument comes from the ``on`` object; an any(...) converter is tried with each of its values.
"""

ALLOWED, FORBIDDEN, NOT_FOUND, LOGIN = "allowed", "forbidden", "not_found", "login"
LETTERS = {"A": ALLOWED, "F": FORBIDDEN, "N": NOT_FOUND, "L": LOGIN}

ROLES = (
    "anonymous", "lead_staff", "lead_admin", "partner_staff", "other_kommune", "caseworker", "reviewer",
    "reviewer_undeclared", "reviewer_unassigned", "reviewer_conflicted", "approver", "admin",
)

APP = "/soknader/<int:application_id>"
CASE = "/saksbehandling/soknader/<int:application_id>"
ROUND = "/saksbehandling/runder/<int:round_id>"
SUMMARY = "/tildelinger/<int:round_id>"

# (method, rule, on, outcomes): outcomes are one letter per role, in the order of ROLES.
#                                                                              an ls la ps ok cw rv ru rn rc ap ad
POLICY = (
    # --- public pages, the public API, static files -------------------------------------------------------------
    ("GET", "/", "-",                                                          "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/start", "-",                                                     "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/tilgjengelighet", "-",                                           "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/helse", "-",                                                     "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/sprak", "-",                                                    "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/static/<path:filename>", "static",                               "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/utlysninger/<int:round_id>", "round",                            "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/api/v1/openapi.json", "-",                                       "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/api/v1/rounds", "-",                                             "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/api/v1/rounds/<int:round_id>/summary", "published",              "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/tildelinger", "-",                                               "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/tildelinger/data", "-",                                          "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", SUMMARY, "published",                                              "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", SUMMARY + "/v/<int:version>", "published",                         "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", SUMMARY + "/v/<int:version>/tildelinger.<any(csv,xlsx,json,'360giving.json'):fmt>", "published",
                                                                               "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/ordningen/<slug>", "published",                                  "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/ordningen/<slug>/resultater", "published",                       "A  A  A  A  A  A  A  A  A  A  A  A"),

    # --- accounts -----------------------------------------------------------------------------------------------
    ("GET", "/konto/logg-inn", "-",                                            "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/logg-inn", "-",                                           "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/logg-ut", "-",                                            "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/okt", "-",                                                "L  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/registrer", "-",                                           "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/registrer", "-",                                          "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/bekreft/<token>", "email_token",                           "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/glemt-passord", "-",                                       "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/glemt-passord", "-",                                      "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/nytt-passord/<token>", "reset_token",                      "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/nytt-passord/<token>", "reset_token",                     "A  A  A  A  A  A  A  A  A  A  A  A"),
    # The link that lifts a pause on logging in (sent to the owner of a paused address): anyone holding it.
    ("GET", "/konto/las-opp/<token>", "unlock_token",                          "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/las-opp/<token>", "unlock_token",                         "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/profil", "-",                                              "L  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/profil", "-",                                             "L  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/passord", "-",                                             "L  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/passord", "-",                                            "L  A  A  A  A  A  A  A  A  A  A  A"),
    # IMDi's administrators list and create staff users; a kommune's administrator approves its own colleagues
    # (of its own kommune only: the other kommune's administrator may not approve the lead kommune's user).
    ("GET", "/konto/brukere", "-",                                             "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("GET", "/konto/brukere/ny", "-",                                          "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/konto/brukere/ny", "-",                                         "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("GET", "/konto/kolleger", "-",                                            "L  F  A  F  A  F  F  F  F  F  F  F"),
    ("POST", "/konto/brukere/<int:user_id>/<any(godkjenn,avvis):verdict>", "pending_user",
                                                                               "L  F  A  F  F  F  F  F  F  F  F  A"),
    # Signing in with ID-porten and Ansattporten. The world configures neither provider, and a provider that is not
    # configured is not offered: its pages answer 404 for everyone (the flow itself: tests/web/test_oidc.py, against
    # a real provider). Finishing a first Ansattporten sign-in with none started sends anyone to the login page.
    ("GET", "/konto/oidc/<any(idporten,ansattporten):provider>/logg-inn", "-",  "N  N  N  N  N  N  N  N  N  N  N  N"),
    ("GET", "/konto/oidc/<any(idporten,ansattporten):provider>/svar", "-",      "N  N  N  N  N  N  N  N  N  N  N  N"),
    ("GET", "/konto/oidc/<any(idporten,ansattporten):provider>/logget-ut", "-", "N  N  N  N  N  N  N  N  N  N  N  N"),
    ("GET", "/konto/oidc/fullfor", "-",                                        "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/oidc/fullfor", "-",                                       "A  A  A  A  A  A  A  A  A  A  A  A"),
    # An invitation's link: anyone holding it sees the page. A kommune's administrator invites to their own kommune
    # (the other kommune's administrator to theirs); IMDi's administrator records the kommuner's organisation numbers.
    ("GET", "/konto/invitasjon/<token>", "invitation_token",                   "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/invitasjoner", "-",                                        "L  F  A  F  A  F  F  F  F  F  F  F"),
    ("POST", "/konto/invitasjoner", "-",                                       "L  F  A  F  A  F  F  F  F  F  F  F"),
    ("GET", "/konto/organisasjonsnummer", "-",                                 "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/konto/organisasjonsnummer", "-",                                "L  F  F  F  F  F  F  F  F  F  F  A"),
    # The second factor of IMDi's staff. The code page after the password answers whoever has no password step
    # behind them with a redirect to the sign-in page (without next): nobody reaches anything through it. The
    # enrolment and security pages are IMDi staff's own (kommune staff have no second factor: 404); the page that
    # asks a session without a check for a code sends everyone else on. Only an administrator resets a
    # colleague's second factor.
    ("GET", "/konto/kode", "-",                                                "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/kode", "-",                                               "A  A  A  A  A  A  A  A  A  A  A  A"),
    ("GET", "/konto/tofaktor/ny", "-",                                         "L  N  N  N  N  A  A  A  A  A  A  A"),
    ("POST", "/konto/tofaktor/ny", "-",                                        "L  N  N  N  N  A  A  A  A  A  A  A"),
    ("GET", "/konto/tofaktor", "-",                                            "L  N  N  N  N  A  A  A  A  A  A  A"),
    ("POST", "/konto/tofaktor", "-",                                           "L  N  N  N  N  A  A  A  A  A  A  A"),
    ("GET", "/konto/bekreft-kode", "-",                                        "L  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/bekreft-kode", "-",                                       "L  A  A  A  A  A  A  A  A  A  A  A"),
    ("POST", "/konto/brukere/<int:user_id>/tofaktor/nullstill", "staff_user",  "L  F  F  F  F  F  F  F  F  F  F  A"),

    # --- rounds and the outbox: IMDi's administrators only --------------------------------------------------------
    ("GET", "/admin/utlysninger/", "-",                                        "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("GET", "/admin/utlysninger/ny", "-",                                      "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/admin/utlysninger/ny", "-",                                     "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("GET", "/admin/utlysninger/<int:round_id>", "round",                      "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/admin/utlysninger/<int:round_id>", "round",                     "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("GET", "/admin/utlysninger/<int:round_id>/frist", "round",               "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/admin/utlysninger/<int:round_id>/frist", "round",              "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("GET", "/admin/utsendinger/", "-",                                        "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("GET", "/admin/utsendinger/<int:notice_id>", "notice",                    "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/admin/utsendinger/<int:notice_id>/send-igjen", "notice",        "L  F  F  F  F  F  F  F  F  F  F  A"),

    # --- the applicant's side -----------------------------------------------------------------------------------
    # Every kommune's staff has a dashboard and may start its own application; IMDi's people apply for nothing.
    ("GET", "/soknader/", "-",                                                 "L  A  A  A  A  F  F  F  F  F  F  F"),
    ("POST", "/soknader/ny", "round",                                          "L  A  A  A  A  F  F  F  F  F  F  F"),
    # The lead and the partner kommune read the application; a draft is the kommune's own (IMDi's administrator
    # aside), a submitted one IMDi's caseworkers and approvers read too. Reviewers read only on IMDi's side.
    ("GET", APP, "draft",                                                      "L  A  A  A  N  F  F  F  F  F  F  A"),
    ("GET", APP, "in_review",                                                  "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("GET", APP + "/kontroll", "draft",                                        "L  A  A  A  N  F  F  F  F  F  F  A"),
    ("GET", APP + "/vedlegg", "draft",                                         "L  A  A  A  N  F  F  F  F  F  F  A"),
    ("GET", APP + "/vedlegg/<int:attachment_id>", "in_review",                 "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("GET", APP + "/kvittering", "in_review",                                  "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("GET", APP + "/soknad.pdf", "in_review",                                  "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("GET", APP + "/vedtak", "decided",                                        "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("GET", APP + "/vedtak/<int:decision_id>.pdf", "decided",                  "L  A  A  A  N  A  F  F  F  F  A  A"),
    # Only the lead kommune changes, submits, withdraws and appeals; the partner reads along.
    ("GET", APP + "/del/<any(applicant,project,anchoring,involvement,transfer,measurement,budget,history):section>",
     "draft",                                                                  "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/del/<any(applicant,project,anchoring,involvement,transfer,measurement,budget,history):section>",
     "draft",                                                                  "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/vedlegg", "draft",                                        "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/vedlegg/<int:attachment_id>/slett", "draft",              "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/send", "draft",                                           "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("GET", APP + "/trekk", "in_review",                                       "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/trekk", "in_review",                                      "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/vedtak", "decided",                                       "L  A  A  F  N  F  F  F  F  F  F  F"),
    # Messages on a received case: the kommuner involved read (IMDi's staff are sent to IMDi's page of them); the
    # lead kommune writes. IMDi's caseworkers, approvers and administrators read and write on their own page.
    ("GET", APP + "/meldinger", "in_review",                                   "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("POST", APP + "/meldinger", "in_review",                                  "L  A  A  F  N  A  F  F  F  F  A  A"),
    ("GET", CASE + "/meldinger", "in_review",                                  "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", CASE + "/meldinger", "in_review",                                 "L  F  F  F  F  A  F  F  F  F  A  A"),
    # A document attached to a message: whoever reads the message; the kommuner never those of an internal note.
    # Anyone else learns nothing, not even that it exists (404), reviewers included.
    ("GET", APP + "/meldinger/vedlegg/<int:file_id>", "in_review",             "L  A  A  A  N  A  N  N  N  N  A  A"),
    ("GET", APP + "/meldinger/vedlegg/<int:file_id>", "internal_note",         "L  N  N  N  N  A  N  N  N  N  A  A"),
    # While IMDi's request for information is open, the lead kommune adds documents to its application.
    ("POST", APP + "/meldinger/ettersending", "in_review",                     "L  A  A  F  N  F  F  F  F  F  F  F"),
    # The grant (tilsagn) of a released grant decision: read as the decision; answered by the lead kommune only.
    ("GET", APP + "/tilsagn", "decided",                                       "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("POST", APP + "/tilsagn", "decided",                                      "L  A  A  F  N  F  F  F  F  F  F  F"),
    # The report on an accepted grant: the lead kommune writes it (a draft, with documents) and sends it; whoever
    # reads the grant reads the versions sent and their documents (the page of a sent report leads to its last
    # version; with nothing sent yet there is nothing to read). Reviewers have no part in it.
    ("GET", APP + "/rapport", "appealed",                                      "L  A  A  N  N  N  F  F  F  F  N  N"),
    ("GET", APP + "/rapport", "reported",                                      "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("POST", APP + "/rapport", "appealed",                                     "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/rapport", "reported",                                     "L  F  F  F  N  F  F  F  F  F  F  F"),
    ("GET", APP + "/rapport/<int:number>", "reported",                         "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("POST", APP + "/rapport/vedlegg", "appealed",                             "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("POST", APP + "/rapport/vedlegg/<int:report_attachment_id>/slett", "appealed",
                                                                               "L  A  A  F  N  F  F  F  F  F  F  F"),
    ("GET", "/rapportvedlegg/<int:report_attachment_id>", "reported",          "L  A  A  A  N  A  N  N  N  N  A  A"),
    # The letter of a repayment claim sent to the kommune: read as the grant, as a page and as PDF. (A proposal's
    # letter is IMDi's preview: tests/web/test_repayment_pages.py.)
    ("GET", APP + "/tilbakebetaling/<int:claim_id>", "claimed",                "L  A  A  A  N  A  F  F  F  F  A  A"),
    ("GET", APP + "/tilbakebetaling/<int:claim_id>.pdf", "claimed",            "L  A  A  A  N  A  F  F  F  F  A  A"),

    # --- IMDi's side: rounds, the reviewer pool, ranking, approval and release -----------------------------------
    # Kommune staff reach nothing here (403). Reviewers reach their own list and their assigned cases only.
    ("GET", "/saksbehandling/", "-",                                           "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("GET", "/saksbehandling/mine", "-",                                       "L  F  F  F  F  A  A  A  A  A  A  A"),
    ("GET", ROUND, "round",                                                    "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("GET", ROUND + "/registrer", "round",                                     "L  F  F  F  F  A  F  F  F  F  F  A"),
    # The round's grants and the kommuner's answers, and its payment file: IMDi's casework staff.
    ("GET", ROUND + "/tilsagn", "round",                                       "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("GET", ROUND + "/utbetalingsfil.<any(csv,xlsx):fmt>", "round",            "L  F  F  F  F  A  F  F  F  F  A  A"),
    # One grant and its payments: a caseworker proposes, an approver who did not propose approves (four eyes);
    # caseworkers and approvers record a payment as paid or withdraw it.
    ("GET", "/saksbehandling/tilsagn/<int:grant_id>", "appealed",               "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", "/saksbehandling/tilsagn/<int:grant_id>/utbetalinger", "appealed", "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/utbetalinger/<int:payment_id>/godkjenn", "appealed",
                                                                               "L  F  F  F  F  F  F  F  F  F  A  A"),
    ("POST", "/saksbehandling/utbetalinger/<int:payment_id>/betalt", "appealed",
                                                                               "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", "/saksbehandling/utbetalinger/<int:payment_id>/trekk", "appealed", "L  F  F  F  F  A  F  F  F  F  A  A"),
    # The report: IMDi's staff read it; a caseworker free of conflict approves it or returns it for changes.
    ("GET", "/saksbehandling/tilsagn/<int:grant_id>/rapport", "reported",      "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", "/saksbehandling/rapporter/<int:report_id>/godkjenn", "reported", "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/rapporter/<int:report_id>/returner", "reported", "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/rapporter/<int:report_id>/godkjenn-med-krav", "reported",
                                                                               "L  F  F  F  F  A  F  F  F  F  F  A"),
    # Its repayment claims (krav om tilbakebetaling): a caseworker proposes, an approver who did not propose approves
    # (four eyes); caseworkers and approvers withdraw a proposal ("appealed": a proposed claim) and record repayments
    # on a claim sent ("claimed"). The overdue claims of every round: IMDi's casework staff.
    ("POST", "/saksbehandling/tilsagn/<int:grant_id>/tilbakebetalingskrav", "appealed",
                                                                               "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/tilbakebetalingskrav/<int:claim_id>/godkjenn", "appealed",
                                                                               "L  F  F  F  F  F  F  F  F  F  A  A"),
    ("POST", "/saksbehandling/tilbakebetalingskrav/<int:claim_id>/trekk", "appealed",
                                                                               "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", "/saksbehandling/tilbakebetalingskrav/<int:claim_id>/innbetalinger", "claimed",
                                                                               "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("GET", "/saksbehandling/tilbakebetalinger", "-",                          "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", ROUND + "/registrer", "round",                                    "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("GET", ROUND + "/fagvurderere", "round",                                  "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", ROUND + "/fagvurderere", "round",                                 "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", ROUND + "/fagvurderere/fordel", "round",                          "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("GET", ROUND + "/rangering", "round",                                     "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", ROUND + "/rangering", "round",                                    "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", ROUND + "/rangering/fyll", "round",                               "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("GET", ROUND + "/godkjenning", "round",                                   "L  F  F  F  F  F  F  F  F  F  A  A"),
    ("POST", ROUND + "/godkjenning/alle", "round",                             "L  F  F  F  F  F  F  F  F  F  A  A"),
    ("GET", ROUND + "/send-ut", "round",                                       "L  F  F  F  F  F  F  F  F  F  A  A"),
    ("POST", ROUND + "/send-ut", "round",                                      "L  F  F  F  F  F  F  F  F  F  A  A"),
    ("GET", ROUND + "/tall", "round",                                          "L  F  F  F  F  A  F  F  F  F  A  A"),
    ("POST", ROUND + "/publiser", "published",                                 "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/sammendrag/<int:summary_id>/avpubliser", "published",
                                                                               "L  F  F  F  F  F  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/vedtak/<int:decision_id>/godkjenn", "in_review", "L  F  F  F  F  F  F  F  F  F  A  A"),

    # --- IMDi's side: the case -----------------------------------------------------------------------------------
    # A draft is no case yet: nobody reads it here.
    ("GET", CASE, "draft",                                                     "L  F  F  F  F  F  F  F  F  F  F  F"),
    # A reviewer reads a case once assigned AND declared free of conflict ("Before you read and score the
    # application, declare whether you have a conflict of interest", templates/review/declare.html; DESIGN.md 8).
    ("GET", CASE, "in_review",                                                 "L  F  F  F  F  A  A  F  F  F  A  A"),
    ("GET", CASE + "/soknad.pdf", "in_review",                                 "L  F  F  F  F  A  A  F  F  F  A  A"),
    ("GET", CASE + "/vedlegg/<int:attachment_id>", "in_review",                "L  F  F  F  F  A  A  F  F  F  A  A"),
    ("GET", CASE + "/habilitet", "in_review",                                  "L  F  F  F  F  F  F  A  F  F  F  F"),
    ("POST", CASE + "/habilitet", "in_review",                                 "L  F  F  F  F  F  F  A  F  F  F  F"),
    ("GET", CASE + "/vurdering", "in_review",                                  "L  F  F  F  F  F  A  F  F  F  F  F"),
    ("POST", CASE + "/vurdering", "in_review",                                 "L  F  F  F  F  F  A  F  F  F  F  F"),
    ("POST", CASE + "/formell-kontroll", "submitted",                          "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", CASE + "/fagvurderere", "in_review",                              "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", CASE + "/fagvurderere/<int:assignment_id>/fjern", "in_review",    "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", CASE + "/vedtak", "in_review",                                    "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/klager/<int:appeal_id>/omgjor", "appealed",      "L  F  F  F  F  A  F  F  F  F  F  A"),
    ("POST", "/saksbehandling/klager/<int:appeal_id>/oppretthold", "appealed", "L  F  F  F  F  A  F  F  F  F  F  A"),
)

# Cells where the product answers otherwise than the policy above: (method, rule, on, role) -> why.
KNOWN_DEVIATIONS = {}


def expected(outcomes):
    """{role: outcome} of a row's letters."""
    letters = outcomes.split()
    if len(letters) != len(ROLES) or not set(letters) <= set(LETTERS):
        raise ValueError(f"a row needs one of {sorted(LETTERS)} for each of the {len(ROLES)} roles: {outcomes!r}")
    return {role: LETTERS[letter] for role, letter in zip(ROLES, letters, strict=True)}
