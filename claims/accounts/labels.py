"""Words for the interface: roles, account states and permissions (French ids, English catalogue)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import Role, UserState
from .permissions import Permission

ROLE_LABELS = {
    Role.PARALEGAL: _l("Juriste"),
    Role.LAWYER: _l("Avocat·e"),
    Role.ADMIN: _l("Administrateur·rice"),
}
STATE_LABELS = {
    UserState.INVITED: _l("invité·e"),
    UserState.ACTIVE: _l("actif"),
    UserState.DISABLED: _l("désactivé"),
}
PERMISSION_LABELS = {
    Permission.VIEW_CLAIMS: _l("Consulter les dossiers"),
    Permission.REVIEW_CLAIMS: _l("Instruire les dossiers"),
    Permission.REQUEST_INFORMATION: _l("Demander des pièces ou informations"),
    Permission.WRITE_NOTES: _l("Écrire des notes internes"),
    Permission.DECIDE_CLAIMS: _l("Accepter ou rejeter un dossier"),
    Permission.MANAGE_FILINGS: _l("Constituer les dépôts et générer les PDF"),
    Permission.EXPORT_DATA: _l("Exporter des données"),
    Permission.MANAGE_USERS: _l("Gérer les comptes du cabinet"),
    Permission.MANAGE_CASES: _l("Gérer les actions collectives"),
    Permission.READ_AUDIT_LOG: _l("Lire le journal d’audit"),
    Permission.MANAGE_MAIL: _l("Suivre les courriels envoyés (sans leur contenu)"),
}
