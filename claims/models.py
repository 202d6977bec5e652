"""Every feature's models, imported so that Alembic and create_all see them all."""

from .accounts.models import Invitation, RecoveryCode, Role, SessionStage, StaffSession, User, UserState
from .audit.models import AuditEvent
from .cases.models import Case, CaseStatus, CaseText, Procedure, TextKind
from .claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus, ResumeLink
from .crypto.models import DataKey
from .evidence.models import Evidence, EvidenceKind, EvidenceStatus
from .filings.models import ExportKind, Filing, FilingExport, FilingMember, FilingState
from .jobs.models import Job, JobStatus
from .mail.models import MailStatus, OutboxMessage
from .portal.models import DataCopy, EmailChange, PortalLink, PortalSession
from .review.models import InfoRequest, InfoRequestStatus, Note, ReviewEvent

__all__ = [
    "AuditEvent",
    "Case",
    "CaseStatus",
    "CaseText",
    "Claim",
    "ClaimHarm",
    "ClaimStatus",
    "Claimant",
    "DataCopy",
    "DataKey",
    "EmailChange",
    "Evidence",
    "EvidenceKind",
    "EvidenceStatus",
    "ExportKind",
    "Filing",
    "FilingExport",
    "FilingMember",
    "FilingState",
    "InfoRequest",
    "InfoRequestStatus",
    "Invitation",
    "Job",
    "JobStatus",
    "MailStatus",
    "Note",
    "OutboxMessage",
    "PortalLink",
    "PortalSession",
    "Procedure",
    "RecoveryCode",
    "ResumeLink",
    "ReviewEvent",
    "Role",
    "SessionStage",
    "StaffSession",
    "TextKind",
    "User",
    "UserState",
]
