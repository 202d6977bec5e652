"""Forms of the filings pages (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..cases.models import Procedure

PROCEDURE_LABELS = {
    Procedure.JOIN_INVESTIGATION: _l("Constitution de partie civile dans une information ouverte"),
    Procedure.COMPLAINT_CIVIL_PARTY: _l("Plainte avec constitution de partie civile"),
    Procedure.JOIN_AT_TRIAL: _l("Constitution de partie civile à l’audience"),
}


class FilingForm(FlaskForm):
    case = SelectField(_l("Action"), coerce=int, validators=[DataRequired()])
    court = StringField(_l("Juridiction"), validators=[DataRequired(), Length(max=200)])
    chamber = StringField(
        _l("Juge d’instruction ou chambre (facultatif)"), validators=[Optional(), Length(max=200)]
    )
    court_case_number = StringField(
        _l("Numéro de l’affaire (facultatif, s’il est connu)"), validators=[Optional(), Length(max=80)]
    )
    procedure = SelectField(
        _l("Procédure"),
        choices=lambda: [SelectChoice(p.value, str(PROCEDURE_LABELS[p])) for p in Procedure],
        validators=[DataRequired()],
    )
    counsel = StringField(_l("Avocat(s) constitué(s)"), validators=[DataRequired(), Length(max=200)])


class AddClaimsForm(FlaskForm):
    references = TextAreaField(
        _l("Références à ajouter (une par ligne)"), validators=[DataRequired(), Length(max=20_000)]
    )


class AddBySavedFilterForm(FlaskForm):
    # Choices: the saved filters the lawyer may see (set by the view); an id that is not
    # one of them is answered 404 by the view, so the choice is not validated here.
    saved_filter = SelectField(
        _l("Filtre enregistré"), coerce=int, validate_choice=False, validators=[DataRequired()]
    )


class FiledForm(FlaskForm):
    filed_on = DateField(_l("Date du dépôt au tribunal"), validators=[DataRequired()])
