"""Console forms for review: decisions carry the claim's version (optimistic locking)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .labels import REJECTION_LABELS
from .saved_filters import NAME_LENGTH


class VersionedForm(FlaskForm):
    """The version of the claim the reviewer saw: a decision on a stale page is refused."""

    version = HiddenField()


class RejectForm(VersionedForm):
    reason = SelectField(_l("Motif"), choices=[], validators=[DataRequired()])
    explanation = TextAreaField(
        _l("Explication pour la personne (envoyée par courriel)"),
        validators=[DataRequired(), Length(min=10, max=5000)],
    )
    duplicate_of = StringField(_l("Référence de la demande conservée (doublon)"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = [(code, str(label)) for code, label in REJECTION_LABELS.items()]


class InfoRequestForm(VersionedForm):
    message = TextAreaField(
        _l("Ce qui manque (envoyé par courriel)"), validators=[DataRequired(), Length(min=10, max=5000)]
    )
    due_on = DateField(_l("Date limite"), validators=[DataRequired()])


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Note (visible du cabinet seulement)"), validators=[DataRequired(), Length(max=10000)]
    )


class SavedFilterForm(FlaskForm):
    """Name and sharing of the filter being saved; the filter itself comes as the queue's arguments."""

    name = StringField(
        _l("Nom du filtre"),
        validators=[DataRequired(), Length(max=NAME_LENGTH)],
        id="filter-name",
        render_kw={"maxlength": NAME_LENGTH},
    )
    shared = BooleanField(_l("Partager avec l’équipe"), id="filter-shared")
