"""Portal forms (Flask-WTF: every form carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..accounts.forms import ActionForm  # noqa: F401  (a button's form: the CSRF token only)
from ..evidence.models import EvidenceKind
from ..intake.forms import EVIDENCE_LABELS, ContactForm, required

MAX_FILES_PER_ANSWER = 5


class SignInForm(FlaskForm):
    email = EmailField(
        _l("Adresse électronique donnée dans votre demande"),
        validators=[required(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    reference = StringField(
        _l("Référence de la demande (facultatif, ex. APHP-7KQ2-M9XD)"),
        validators=[Optional(), Length(max=20)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class TokenForm(FlaskForm):
    """A button that uses a one-time link: a GET alone (a mail scanner) never consumes it."""

    token = HiddenField(validators=[DataRequired(), Length(max=100)])


class AnswerForm(FlaskForm):
    response = TextAreaField(
        _l("Votre réponse"), validators=[required(), Length(max=10_000)], render_kw={"rows": 6}
    )
    kind = SelectField(
        _l("Type des pièces jointes"),
        choices=lambda: [SelectChoice(k.value, str(EVIDENCE_LABELS[k])) for k in EvidenceKind],
        default=EvidenceKind.OTHER.value,
    )
    files = MultipleFileField(
        _l("Pièces jointes (facultatif : PDF ou photos, 15 Mo chacune, 5 au plus)"),
        render_kw={"accept": "application/pdf,image/jpeg,image/png,image/heic,.heic"},
    )


class AddressForm(ContactForm):
    """The address and phone; the email changes through a confirmation link (EmailForm)."""

    email = None  # type: ignore[assignment]


class EmailForm(FlaskForm):
    email = EmailField(
        _l("Nouvelle adresse électronique"),
        validators=[required(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    validate_email = ContactForm.validate_email  # the intake form's check and normalisation


class WithdrawForm(FlaskForm):
    confirm = BooleanField(
        _l("J’ai compris : je retire ma demande et mes données seront effacées."),
        validators=[DataRequired(message=_l("Cochez la case pour confirmer le retrait."))],
    )
