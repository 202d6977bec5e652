"""Interface labels for review codes (statuses, reasons, warnings), in French msgids."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "draft": _l("Brouillon"),
    "submitted": _l("Nouvelle"),
    "in_review": _l("En examen"),
    "needs_info": _l("Informations demandées"),
    "accepted": _l("Acceptée"),
    "rejected": _l("Refusée"),
    "in_filing": _l("Dans un dépôt"),
    "filed": _l("Déposée"),
    "withdrawn": _l("Retirée"),
}

REJECTION_LABELS = {
    "not_eligible": _l("Ne remplit pas les conditions"),
    "not_affected": _l("Pas concerné·e par la fuite"),
    "insufficient_evidence": _l("Preuves insuffisantes"),
    "duplicate": _l("Doublon d’une autre demande"),
    "time_barred": _l("Hors délai"),
    "fraud_suspected": _l("Informations invérifiables"),
    "other": _l("Autre motif"),
}

WARNING_LABELS = {
    "duplicate_email": (_l("Même courriel"), _l("Une autre demande a la même adresse électronique.")),
    "duplicate_phone": (_l("Même téléphone"), _l("Une autre demande a le même numéro de téléphone.")),
    "duplicate_nir": (_l("Même NIR"), _l("Une autre demande a le même numéro de sécurité sociale.")),
    "duplicate_identity": (
        _l("Même identité"),
        _l("Une autre demande a le même nom et la même date de naissance."),
    ),
    "duplicate_address": (_l("Même adresse"), _l("Une autre demande a une adresse postale quasi identique.")),
    "honeypot": (_l("Robot ?"), _l("Le champ caché du formulaire a été rempli : signe d’un robot.")),
    "fast_form": (_l("Trop rapide"), _l("Le formulaire a été rempli en moins de deux minutes.")),
    "same_ip": (_l("Même connexion"), _l("Plus de trois demandes depuis la même adresse IP le même jour.")),
    "evidence_flagged": (
        _l("Pièce signalée"),
        _l("Une pièce contient du contenu actif (JavaScript, fichier joint) ou n’a pas pu être lue."),
    ),
    "overdue": (_l("Réponse en retard"), _l("La date limite d’une demande d’informations est passée.")),
}

EVENT_LABELS = {
    "claim.viewed": _l("Dossier consulté"),
    "claim.assigned": _l("Attribution"),
    "claim.review_started": _l("Examen commencé"),
    "claim.accepted": _l("Acceptée"),
    "claim.rejected": _l("Refusée"),
    "claim.information_requested": _l("Informations demandées"),
    "claim.information_received": _l("Réponse reçue"),
    "claim.note_added": _l("Note ajoutée"),
    "claim.reminder_sent": _l("Rappel envoyé"),
    "claim.submitted": _l("Demande déposée"),
    "claim.draft_started": _l("Demande commencée"),
    "evidence.downloaded": _l("Pièce téléchargée"),
    "evidence.previewed": _l("Pièce affichée"),
    # The claimant, in the portal.
    "claim.withdrawn": _l("Retirée par le demandeur"),
    "claim.erased": _l("Données effacées"),
    "claim.purged": _l("Effacement définitif (durée de conservation)"),
    "portal.link_sent": _l("Lien de connexion envoyé"),
    "portal.signed_in": _l("Connexion à l’espace demandeur"),
    "portal.signed_out": _l("Déconnexion de l’espace demandeur"),
    "claimant.contact_changed": _l("Coordonnées modifiées"),
    "claimant.email_change_requested": _l("Changement d’adresse électronique demandé"),
    "claimant.email_changed": _l("Adresse électronique changée"),
    "claim.data_copy_requested": _l("Copie des données demandée"),
    "claim.data_copy_ready": _l("Copie des données prête"),
    "claim.data_copy_downloaded": _l("Copie des données téléchargée"),
    "claim.data_copy_discarded": _l("Copie des données supprimée"),
}
