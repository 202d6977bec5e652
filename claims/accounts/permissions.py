"""What each staff role may do: the one permission table of the application.

Views declare the permission they need (``claims.accounts.access``); the
admin's user page shows this table. Admins manage the firm's accounts and
cases but do not read claimants' files: least privilege.
"""

from __future__ import annotations

import enum

from .models import Role


class Permission(enum.StrEnum):
    VIEW_CLAIMS = "view_claims"
    REVIEW_CLAIMS = "review_claims"
    REQUEST_INFORMATION = "request_information"
    WRITE_NOTES = "write_notes"
    DECIDE_CLAIMS = "decide_claims"
    MANAGE_FILINGS = "manage_filings"
    EXPORT_DATA = "export_data"
    MANAGE_USERS = "manage_users"
    MANAGE_CASES = "manage_cases"
    READ_AUDIT_LOG = "read_audit_log"
    MANAGE_MAIL = "manage_mail"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PARALEGAL: frozenset(
        {
            Permission.VIEW_CLAIMS,
            Permission.REVIEW_CLAIMS,
            Permission.REQUEST_INFORMATION,
            Permission.WRITE_NOTES,
        }
    ),
    Role.LAWYER: frozenset(
        {
            Permission.VIEW_CLAIMS,
            Permission.REVIEW_CLAIMS,
            Permission.REQUEST_INFORMATION,
            Permission.WRITE_NOTES,
            Permission.DECIDE_CLAIMS,
            Permission.MANAGE_FILINGS,
            Permission.EXPORT_DATA,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Permission.MANAGE_USERS,
            Permission.MANAGE_CASES,
            Permission.READ_AUDIT_LOG,
            Permission.MANAGE_MAIL,
        }
    ),
}


def role_can(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]
