"""Writing a message on a case, with documents; sending a document afterwards to the application."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import BooleanField, DateField, TextAreaField
from wtforms.validators import Length, Optional

from grants.core.forms import required
from grants.messages.models import MAX_BODY_CHARS, MAX_FILES_PER_MESSAGE


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[required(_l("Write the message.")),
                                                    Length(max=MAX_BODY_CHARS)])
    files = MultipleFileField(_l("Attach documents (optional)"), validators=[Optional()],
                              description=_l("Up to %(n)s documents: PDF, Word (DOCX), OpenDocument text (ODT) or "
                                             "Excel (XLSX), at most 10 MB in all.", n=MAX_FILES_PER_MESSAGE))

    def uploads(self):
        """The chosen files as (filename, bytes): a file input left empty sends a part with no name."""
        return [(f.filename, f.read()) for f in self.files.data or [] if f and getattr(f, "filename", "")]


class ImdiMessageForm(MessageForm):
    internal = BooleanField(_l("Internal note: only IMDi's staff see it"))
    answer_by = DateField(_l("Ask the municipality to answer by"), validators=[Optional()],
                          description=_l("Leave empty for an ordinary message. The municipality is told the "
                                         "date."))


class SupplementForm(FlaskForm):
    """One document added to the submitted application while IMDi asks for information (prefix "supplement", so
    its fields do not clash with the message form's on the same page)."""

    file = FileField(_l("Document to add to the application"), validators=[required(_l("Choose a file to upload."))],
                     description=_l("PDF, Word (DOCX), OpenDocument text (ODT) or Excel (XLSX), at most 10 MB."))
