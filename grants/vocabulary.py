"""The words people read for the system's keys: every vocabulary of states, kinds, roles and actions, each with its
titles kept beside its definition, under one name here.

A page never shows a key (``in_review``, ``user_approved``); it shows ``title(vocabulary, key)``: the title's
English msgid translated into the page's language. Above the domain packages (it reads them all): the app
factory registers it, and the domain packages' own pages use grants.i18n.title_in with their own titles."""

from grants.accounts.models import ROLE_TITLES, STATUS_TITLES, Role, UserStatus
from grants.applications import workflow
from grants.applications.models import CHANNEL_TITLES, Channel
from grants.core.audit import ACTION_TITLES
from grants.decisions.models import (
    APPEAL_STATE_TITLES,
    DECISION_STATE_TITLES,
    OUTCOME_TITLES,
    AppealState,
    DecisionState,
    Outcome,
)
from grants.followup.figures import REPORT_STATUS_TITLES, ReportStatus
from grants.followup.models import (
    CLAIM_STATE_TITLES,
    GRANT_STATE_TITLES,
    PAYMENT_STATE_TITLES,
    REPORT_STATE_TITLES,
    ClaimState,
    GrantState,
    PaymentState,
    ReportState,
)
from grants.i18n import title_in
from grants.notify.messages import KIND_TITLES
from grants.notify.models import NOTICE_STATE_TITLES, NoticeState
from grants.review.models import ASSIGNMENT_STATE_TITLES, RECOMMENDATION_TITLES, AssignmentState, Recommendation

# name -> (every key of the vocabulary, its titles). The keys of an enum are its members; a notice's kind and an
# audit action are plain strings, so their keys are the titles' own (tests/unit/test_vocabulary.py checks those
# against the e-mail templates and the actions the code records).
VOCABULARIES = {
    "application_state": (tuple(workflow.State), workflow.TITLES),
    "channel": (tuple(Channel), CHANNEL_TITLES),
    "role": (tuple(Role), ROLE_TITLES),
    "user_status": (tuple(UserStatus), STATUS_TITLES),
    "notice_state": (tuple(NoticeState), NOTICE_STATE_TITLES),
    "notice_kind": (tuple(KIND_TITLES), KIND_TITLES),
    "audit_action": (tuple(ACTION_TITLES), ACTION_TITLES),
    "assignment_state": (tuple(AssignmentState), ASSIGNMENT_STATE_TITLES),
    "recommendation": (tuple(Recommendation), RECOMMENDATION_TITLES),
    "decision_state": (tuple(DecisionState), DECISION_STATE_TITLES),
    "outcome": (tuple(Outcome), OUTCOME_TITLES),
    "appeal_state": (tuple(AppealState), APPEAL_STATE_TITLES),
    "grant_state": (tuple(GrantState), GRANT_STATE_TITLES),
    "payment_state": (tuple(PaymentState), PAYMENT_STATE_TITLES),
    "report_state": (tuple(ReportState), REPORT_STATE_TITLES),
    "claim_state": (tuple(ClaimState), CLAIM_STATE_TITLES),
    "report_status": (tuple(ReportStatus), REPORT_STATUS_TITLES),
}


def title(vocabulary, key):
    """The title of ``key`` (an enum member or its string) in ``vocabulary`` (a name of VOCABULARIES), in the
    current language (grants.i18n.title_in)."""
    return title_in(VOCABULARIES[vocabulary][1], key)


def titles(vocabulary):
    """{key as a string: its title in the current language} for every key of ``vocabulary``."""
    keys, _titles = VOCABULARIES[vocabulary]
    return {str(key): title(vocabulary, key) for key in keys}


def init_app(app):
    """Offer ``title_of(vocabulary, key)`` to every template."""
    app.jinja_env.globals["title_of"] = title
