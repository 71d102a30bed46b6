"""Grant schemes and their rounds (utlysninger), with criteria and conditions."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.timeutil import now_utc, within_deadline
from grants.db import TimestampMixin
from grants.extensions import db


class Localised:
    """Columns named ``<field>_nb``, ``_nn``, ``_en``, read in the language asked for."""

    def localised(self, field, lang):
        value = getattr(self, f"{field}_{lang}", None)
        return value or getattr(self, f"{field}_nb")


class Scheme(Localised, TimestampMixin, db.Model):
    __tablename__ = "schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title_nb: Mapped[str] = mapped_column(String(200))
    title_nn: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_nb: Mapped[str] = mapped_column(Text, default="")
    description_nn: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")

    rounds: Mapped[list["Round"]] = relationship(back_populates="scheme", order_by="Round.opens_at")


class Round(Localised, TimestampMixin, db.Model):
    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint("budget > 0", name="budget_positive"),
        CheckConstraint("deadline_at > opens_at", name="deadline_after_opening"),
        CheckConstraint("min_participants >= 0", name="min_participants_non_negative"),
        CheckConstraint("acceptance_days >= 1", name="acceptance_days_positive"),
        CheckConstraint("held_back_percent BETWEEN 0 AND 100", name="held_back_percent_range"),
        UniqueConstraint("scheme_id", "slug", name="uq_rounds_scheme_slug"),
        UniqueConstraint("reference_prefix", name="uq_rounds_reference_prefix"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    year: Mapped[int]
    area_number: Mapped[int | None]
    title_nb: Mapped[str] = mapped_column(String(200))
    title_nn: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    text_nb: Mapped[str] = mapped_column(Text, default="")
    text_nn: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    budget: Mapped[int]  # whole kroner
    opens_at: Mapped[datetime]
    deadline_date: Mapped[date]  # an Oslo date
    deadline_at: Mapped[datetime]  # 23:59:59 Oslo time on deadline_date, in UTC
    eligible_applicants: Mapped[str] = mapped_column(String(40), default="municipality")
    appeals_allowed: Mapped[bool] = mapped_column(default=False)
    min_participants: Mapped[int] = mapped_column(default=10)
    # Days from the release of a grant decision to the day the kommune answers by (accepts or declines the grant).
    acceptance_days: Mapped[int] = mapped_column(default=21, server_default="21")
    # The share of each grant (per cent) held back until its report is approved; the rest is paid on acceptance.
    held_back_percent: Mapped[int] = mapped_column(default=0, server_default="0")
    own_contribution_required: Mapped[bool] = mapped_column(default=True)
    reporting_deadline: Mapped[date | None]
    reminder_days: Mapped[str] = mapped_column(String(40), default="14,7,1")
    score_spread_threshold: Mapped[float] = mapped_column(default=1.5)
    # What every reference of this round starts with: the year for the year's first round ("2025" gives
    # 2025-0007), the year and a count for the next ones ("2025-2" gives 2025-2-0007). Unique: so are references.
    reference_prefix: Mapped[str] = mapped_column(String(12))
    # The last reference number handed out in this round (2025-0007); raised atomically.
    last_reference: Mapped[int] = mapped_column(default=0)

    scheme: Mapped[Scheme] = relationship(back_populates="rounds", lazy="joined")
    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="round", order_by="Criterion.position", cascade="all, delete-orphan"
    )

    def is_open(self, at=None):
        """Whether the round takes applications at ``at`` (UTC, default now): from its opening to the end of its
        deadline day in Oslo."""
        at = at or now_utc()
        return self.opens_at <= at and within_deadline(at, self.deadline_date)

    def has_opened(self, at=None):
        return self.opens_at <= (at or now_utc())

    def deadline_passed(self, at=None):
        """Whether the whole deadline day (Oslo) is over at ``at`` (UTC, default now)."""
        return not within_deadline(at or now_utc(), self.deadline_date)

    @property
    def reminder_day_list(self):
        return sorted({int(d) for d in self.reminder_days.split(",") if d.strip()}, reverse=True)

    def __repr__(self):
        return f"<Round {self.slug}>"


class Criterion(Localised, db.Model):
    __tablename__ = "criteria"
    __table_args__ = (
        CheckConstraint("weight > 0", name="weight_positive"),
        CheckConstraint("scale_max > scale_min", name="scale_ordered"),
        UniqueConstraint("round_id", "code", name="uq_criteria_round_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    title_nb: Mapped[str] = mapped_column(String(200))
    title_nn: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_nb: Mapped[str] = mapped_column(Text, default="")
    description_nn: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column(default=1)
    scale_min: Mapped[int] = mapped_column(default=1)
    scale_max: Mapped[int] = mapped_column(default=6)

    round: Mapped[Round] = relationship(back_populates="criteria")
