"""Read side of the decisions: the proposals awaiting approval or release, a case's appeals, the decision the
kommune has been sent."""

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from grants.applications.models import Application
from grants.decisions.models import Appeal, Decision, DecisionState
from grants.extensions import db


def proposals(round_id):
    return db.session.scalars(
        select(Decision).options(joinedload(Decision.proposed_by), joinedload(Decision.approved_by),
                                 joinedload(Decision.application).joinedload(Application.municipality))
        .where(Decision.round_id == round_id,
               or_(Decision.state == DecisionState.proposed, Decision.state == DecisionState.approved))
        .order_by(Decision.id)
    ).all()


def appeals_for(application_id):
    return db.session.scalars(select(Appeal).where(Appeal.application_id == application_id)
                              .order_by(Appeal.id)).all()


def released_decision(application_id):
    """The decision in force that the kommune has been sent, or None: never a proposed or approved one."""
    return db.session.scalar(
        select(Decision).where(Decision.application_id == application_id,
                               Decision.state == DecisionState.released)
        .order_by(Decision.id.desc()).limit(1)
    )
