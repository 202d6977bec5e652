"""The intake form, one WTForms form per step. Validation answers in the claimant's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from stdnum.fr import nir as stdnum_nir
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..evidence.models import EvidenceKind

MAX_STATEMENT = 20_000
MAX_AMOUNT = Decimal("1000000")
REQUIRED = _l("Ce champ est obligatoire.")


def required() -> DataRequired:
    return DataRequired(message=REQUIRED)


class IdentityForm(FlaskForm):
    civility = SelectField(
        _l("Civilité"),
        choices=lambda: [
            SelectChoice("Mme", str(_l("Madame"))),
            SelectChoice("M.", str(_l("Monsieur"))),
            SelectChoice("", str(_l("Ne pas préciser"))),
        ],
    )
    first_name = StringField(
        _l("Prénom(s)"), validators=[required(), Length(max=100)], render_kw={"autocomplete": "given-name"}
    )
    last_name = StringField(
        _l("Nom de naissance"),
        validators=[required(), Length(max=100)],
        render_kw={"autocomplete": "family-name"},
    )
    birth_date = DateField(
        _l("Date de naissance"),
        validators=[InputRequired(message=REQUIRED)],
        render_kw={"autocomplete": "bday"},
    )
    birth_place = StringField(
        _l("Lieu de naissance (commune, pays)"), validators=[required(), Length(max=120)]
    )

    def validate_birth_date(self, field: DateField) -> None:
        if field.data and not date(1900, 1, 1) <= field.data <= date.today():
            raise ValidationError(_l("Indiquez une date de naissance réelle (jj/mm/aaaa)."))


class ContactForm(FlaskForm):
    address_line1 = StringField(
        _l("Adresse"), validators=[required(), Length(max=200)], render_kw={"autocomplete": "address-line1"}
    )
    address_line2 = StringField(
        _l("Complément d’adresse (facultatif)"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "address-line2"},
    )
    postal_code = StringField(
        _l("Code postal"),
        validators=[required(), Length(max=12)],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    city = StringField(
        _l("Commune"), validators=[required(), Length(max=120)], render_kw={"autocomplete": "address-level2"}
    )
    country = StringField(
        _l("Pays"),
        default="France",
        validators=[required(), Length(max=80)],
        render_kw={"autocomplete": "country-name"},
    )
    email = EmailField(
        _l("Adresse électronique"),
        validators=[required(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    phone = TelField(
        _l("Téléphone"), validators=[required(), Length(max=30)], render_kw={"autocomplete": "tel"}
    )

    def validate_email(self, field: EmailField) -> None:
        try:
            field.data = validate_email(field.data or "", check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValidationError(
                _l("Adresse électronique invalide (exemple : prenom.nom@exemple.fr).")
            ) from None

    def validate_phone(self, field: TelField) -> None:
        try:
            number = phonenumbers.parse(field.data or "", "FR")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValidationError(_l("Numéro de téléphone invalide (exemple : 06 12 34 56 78)."))
        field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def details_form(collects: list[str], formdata: Any = None, **data: Any) -> FlaskForm:
    """Only the optional fields the case collects; none is shown otherwise."""

    class DetailsForm(FlaskForm):
        pass

    if "nir" in collects:

        def validate_nir(form: FlaskForm, field: StringField) -> None:
            if not stdnum_nir.is_valid(field.data or ""):
                raise ValidationError(
                    _l("Numéro de sécurité sociale invalide : 13 chiffres et la clé de 2 chiffres.")
                )
            field.data = stdnum_nir.format(stdnum_nir.compact(field.data))

        DetailsForm.nir = StringField(
            _l("Numéro de sécurité sociale (NIR, 15 caractères)"), validators=[required(), Length(max=30)]
        )
        DetailsForm.validate_nir = validate_nir
    if "covid_test" in collects:
        DetailsForm.test_date = DateField(_l("Date du test de dépistage"), validators=[Optional()])
        DetailsForm.test_place = StringField(
            _l("Lieu du test (hôpital, laboratoire)"), validators=[Optional(), Length(max=200)]
        )
    return DetailsForm(formdata=formdata, data=data)


def eligibility_form(
    questions: list[dict[str, Any]], lang: str, formdata: Any = None, **data: Any
) -> FlaskForm:
    class EligibilityForm(FlaskForm):
        pass

    for question in questions:
        setattr(
            EligibilityForm,
            f"q_{question['code']}",
            RadioField(
                question["text_en"] if lang == "en" else question["text_fr"],
                choices=[SelectChoice("yes", str(_l("Oui"))), SelectChoice("no", str(_l("Non")))],
                validators=[InputRequired(message=_l("Répondez par oui ou par non."))],
            ),
        )
    return EligibilityForm(formdata=formdata, data=data)


def harm_form(heads: list[dict[str, Any]], lang: str, formdata: Any = None, **data: Any) -> FlaskForm:
    class HarmForm(FlaskForm):
        statement = TextAreaField(
            _l(
                "Racontez ce qui vous est arrivé depuis la fuite (messages reçus, appels, démarches, inquiétudes)"
            ),
            validators=[
                required(),
                Length(min=20, max=MAX_STATEMENT, message=_l("Entre 20 et 20 000 caractères.")),
            ],
            render_kw={"rows": 10},
        )

        def validate(self, extra_validators: Any = None) -> bool:
            ok = super().validate(extra_validators)
            if not any(getattr(self, f"claim_{h['code']}").data for h in heads):
                self.form_errors.append(str(_l("Choisissez au moins un préjudice.")))
                return False
            for head in heads:
                if (
                    getattr(self, f"claim_{head['code']}").data
                    and getattr(self, f"amount_{head['code']}").data is None
                ):
                    getattr(self, f"amount_{head['code']}").errors.append(str(_l("Indiquez un montant.")))
                    ok = False
            return ok

    for head in heads:
        label = head["label_en"] if lang == "en" else head["label_fr"]
        setattr(HarmForm, f"claim_{head['code']}", BooleanField(label))
        setattr(
            HarmForm,
            f"amount_{head['code']}",
            DecimalField(
                _l("Montant demandé (€)"),
                places=2,
                validators=[
                    Optional(),
                    NumberRange(min=0, max=MAX_AMOUNT, message=_l("Entre 0 et 1 000 000 €.")),
                ],
                render_kw={"inputmode": "decimal"},
            ),
        )
    return HarmForm(formdata=formdata, data=data)


class EvidenceForm(FlaskForm):
    kind = SelectField(
        _l("Type de pièce"),
        choices=lambda: [SelectChoice(k.value, str(EVIDENCE_LABELS[k])) for k in EvidenceKind],
    )
    file = FileField(
        _l("Fichier (PDF ou photo, 15 Mo au plus)"),
        validators=[FileRequired(message=_l("Choisissez un fichier."))],
        render_kw={"accept": "application/pdf,image/jpeg,image/png,image/heic,.heic"},
    )


EVIDENCE_LABELS = {
    EvidenceKind.BREACH_NOTIFICATION: _l("Courrier ou courriel informant de la fuite"),
    EvidenceKind.PHISHING_MESSAGE: _l("Message frauduleux reçu (capture d’écran)"),
    EvidenceKind.PROOF_OF_IDENTITY: _l("Pièce d’identité"),
    EvidenceKind.TEST_RECEIPT: _l("Preuve du test de dépistage"),
    EvidenceKind.PROOF_OF_LOSS: _l("Justificatif de perte financière"),
    EvidenceKind.OTHER: _l("Autre pièce"),
}


class ConsentForm(FlaskForm):
    accept_privacy = BooleanField(
        _l("J’ai lu la politique de confidentialité et j’accepte le traitement de mes données."),
        validators=[DataRequired(message=REQUIRED)],
    )
    accept_mandate = BooleanField(
        _l("Je donne mandat au cabinet de me représenter (mandat ci-dessus)."),
        validators=[DataRequired(message=REQUIRED)],
    )
    accept_fees = BooleanField(
        _l("J’accepte la convention d’honoraires ci-dessus."), validators=[DataRequired(message=REQUIRED)]
    )
    civil_party = BooleanField(
        _l("Je déclare vouloir me constituer partie civile."), validators=[DataRequired(message=REQUIRED)]
    )
    legal_aid = BooleanField(_l("Je bénéficie ou je demande l’aide juridictionnelle."))
    signature = StringField(
        _l("Signature : tapez vos prénom et nom"), validators=[required(), Length(max=200)]
    )
    # Left empty by people; bots fill every field. Recorded, never shown.
    website = StringField(_l("Ne pas remplir"), render_kw={"tabindex": "-1", "autocomplete": "off"})
    idempotency_key = HiddenField()


class ResumeForm(FlaskForm):
    email = EmailField(
        _l("Adresse électronique donnée dans votre demande"),
        validators=[required(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
