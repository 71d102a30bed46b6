"""Writing a message on a case."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, TextAreaField
from wtforms.validators import Length, Optional

from grants.core.forms import required
from grants.messages.models import MAX_BODY_CHARS


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[required(_l("Write the message.")),
                                                    Length(max=MAX_BODY_CHARS)])


class ImdiMessageForm(MessageForm):
    internal = BooleanField(_l("Internal note: only IMDi's staff see it"))
    answer_by = DateField(_l("Ask the municipality to answer by"), validators=[Optional()],
                          description=_l("Leave empty for an ordinary message. The municipality is told the "
                                         "date."))
