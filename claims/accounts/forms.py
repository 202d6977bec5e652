"""Staff account forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, EqualTo, Length

from .labels import ROLE_LABELS
from .passwords import MAX_LENGTH, password_problems

PASSWORD_MESSAGES = {
    "too_short": _l("Au moins 12 caractères."),
    "too_long": _l("Au plus 256 caractères."),
    "common": _l("Ce mot de passe est trop courant : choisissez une phrase de passe personnelle."),
    "contains_email": _l("Le mot de passe ne doit pas contenir votre adresse électronique."),
    "too_repetitive": _l("Le mot de passe est trop répétitif."),
}


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, str(label)) for role, label in ROLE_LABELS.items()]


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse électronique"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


def code_field(label: object) -> StringField:
    return StringField(
        label,
        validators=[DataRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class CodeForm(FlaskForm):
    code = code_field(_l("Code à 6 chiffres (ou code de secours)"))


class EnrolForm(FlaskForm):
    code = code_field(_l("Code à 6 chiffres"))


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    code = code_field(_l("Code à 6 chiffres"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "new-password", "minlength": 12},
    )
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[DataRequired(), EqualTo("password", message=_l("Les deux mots de passe diffèrent."))],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, email: str, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._email = email

    def validate_password(self, field: PasswordField) -> None:
        problems = password_problems(field.data or "", self._email)
        if problems:
            raise ValidationError(" ".join(str(PASSWORD_MESSAGES[p]) for p in problems))


class InviteForm(FlaskForm):
    email = EmailField(_l("Adresse électronique"), validators=[DataRequired(), Length(max=254)])
    full_name = StringField(_l("Nom complet"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Rôle"), choices=lambda: role_choices())

    def validate_email(self, field: EmailField) -> None:
        try:
            field.data = validate_email(field.data or "", check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValidationError(_l("Adresse électronique invalide.")) from None


class RoleForm(FlaskForm):
    role = SelectField(_l("Rôle"), choices=lambda: role_choices())


class ActionForm(FlaskForm):
    """A button that changes something: CSRF token only."""
