"""What each status means for the claimant, in plain words: where the claim stands, what
happens next, what (if anything) they must do."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..claimants.models import ClaimStatus

S = ClaimStatus

STATUS_EXPLAINED = {
    S.SUBMITTED: (
        _l("Reçue"),
        _l("Votre demande est enregistrée. Elle attend d’être examinée par le cabinet."),
        _l("Vous n’avez rien à faire. Nous vous écrirons si une pièce ou une précision manque."),
    ),
    S.IN_REVIEW: (
        _l("En cours d’examen"),
        _l("Un membre du cabinet examine votre demande et vos pièces."),
        _l("Vous n’avez rien à faire pour l’instant."),
    ),
    S.NEEDS_INFO: (
        _l("Informations demandées"),
        _l("Le cabinet a besoin d’une précision ou d’une pièce pour continuer."),
        _l("Répondez à la demande ci-dessous avant la date indiquée."),
    ),
    S.ACCEPTED: (
        _l("Acceptée"),
        _l("Votre demande est acceptée : vous serez constitué·e partie civile avec les autres victimes."),
        _l("Vous n’avez rien à faire. Nous vous préviendrons quand le dossier sera déposé."),
    ),
    S.REJECTED: (
        _l("Refusée"),
        _l("Le cabinet ne peut pas présenter votre demande. Le courriel reçu en explique la raison."),
        _l("Si vous pensez qu’il s’agit d’une erreur, répondez à ce courriel pour la contester."),
    ),
    S.IN_FILING: (
        _l("En préparation du dépôt"),
        _l("Votre dossier est en cours d’assemblage avec ceux des autres victimes pour le tribunal."),
        _l("Vous n’avez rien à faire."),
    ),
    S.FILED: (
        _l("Déposée au tribunal"),
        _l("Votre constitution de partie civile a été déposée auprès de la juridiction."),
        _l("Le cabinet vous tiendra informé·e de la suite de la procédure."),
    ),
}

TIMELINE_LABELS = {
    "submitted": _l("Demande déposée"),
    "review_started": _l("Examen commencé"),
    "assigned": _l("Examen commencé"),
    "information_requested": _l("Informations demandées"),
    "information_received": _l("Réponse envoyée"),
    "accepted": _l("Demande acceptée"),
    "rejected": _l("Demande refusée"),
    "added_to_filing": _l("Ajoutée au dossier du tribunal"),
    "removed_from_filing": _l("Retirée du dossier en préparation"),
    "filed": _l("Déposée au tribunal"),
}

TEXT_SLUGS = {"confidentialite": "privacy_notice", "mandat": "mandate", "honoraires": "fee_agreement"}
