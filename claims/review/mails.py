"""Mail to the claimant about their review, in their language: (recipient, subject, body).

The free text a reviewer writes goes in the body only (plain text); the
subject holds the reference, never free text (header injection is stopped
by ``single_line`` anyway).
"""

from __future__ import annotations

from ..claimants.models import Claim
from .models import InfoRequest

REASONS = {
    "not_eligible": (
        "Vous ne remplissez pas les conditions pour rejoindre cette action.",
        "You do not meet the conditions to join this action.",
    ),
    "not_affected": (
        "Votre dossier ne montre pas que vos données faisaient partie de la fuite.",
        "Your file does not show that your data was part of the breach.",
    ),
    "insufficient_evidence": (
        "Les pièces fournies ne permettent pas d’établir votre préjudice.",
        "The documents provided do not establish your harm.",
    ),
    "duplicate": (
        "Vous avez déjà une autre demande dans cette action ; c’est elle qui sera examinée.",
        "You already have another claim in this action; that one will be reviewed.",
    ),
    "time_barred": (
        "Le délai pour rejoindre cette action est dépassé.",
        "The deadline to join this action has passed.",
    ),
    "fraud_suspected": (
        "Les informations fournies n’ont pas pu être vérifiées.",
        "The information provided could not be verified.",
    ),
    "other": ("Voir l’explication ci-dessous.", "See the explanation below."),
}


def _english(claim: Claim) -> bool:
    return claim.claimant.language == "en"


def rejection_mail(claim: Claim, reason_code: str, reason_text: str) -> tuple[str, str, str]:
    french, english = REASONS[reason_code]
    if _english(claim):
        return (
            claim.claimant.email or "",
            f"Your claim {claim.reference}: decision",
            f"Hello,\n\nThe firm has reviewed your claim {claim.reference} in “{claim.case.text('title', 'en')}” "
            f"and cannot take it on.\n\n{english}\n\n{reason_text}\n\nYou may answer this message if you think "
            "this is a mistake.\n",
        )
    return (
        claim.claimant.email or "",
        f"Votre demande {claim.reference} : décision",
        f"Bonjour,\n\nLe cabinet a examiné votre demande {claim.reference} dans l’action « {claim.case.title} » "
        f"et ne peut pas la retenir.\n\n{french}\n\n{reason_text}\n\nVous pouvez répondre à ce message si "
        "vous pensez qu’il s’agit d’une erreur.\n",
    )


def information_request_mail(claim: Claim, info: InfoRequest) -> tuple[str, str, str]:
    if _english(claim):
        return (
            claim.claimant.email or "",
            f"Your claim {claim.reference}: information needed",
            f"Hello,\n\nTo review your claim {claim.reference}, the firm needs the following:\n\n"
            f"{info.message}\n\nPlease answer by {info.due_on:%d/%m/%Y} from your claimant space.\n",
        )
    return (
        claim.claimant.email or "",
        f"Votre demande {claim.reference} : informations demandées",
        f"Bonjour,\n\nPour examiner votre demande {claim.reference}, le cabinet a besoin de ceci :\n\n"
        f"{info.message}\n\nMerci de répondre avant le {info.due_on:%d/%m/%Y} depuis votre espace.\n",
    )


def reminder_mail(claim: Claim, info: InfoRequest) -> tuple[str, str, str]:
    if _english(claim):
        return (
            claim.claimant.email or "",
            f"Reminder: your claim {claim.reference}",
            f"Hello,\n\nThe firm is still waiting for your answer, due by {info.due_on:%d/%m/%Y}:\n\n"
            f"{info.message}\n",
        )
    return (
        claim.claimant.email or "",
        f"Rappel : votre demande {claim.reference}",
        f"Bonjour,\n\nLe cabinet attend toujours votre réponse, avant le {info.due_on:%d/%m/%Y} :\n\n"
        f"{info.message}\n",
    )
