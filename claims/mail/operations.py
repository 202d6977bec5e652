"""Queueing and delivering mail.

``queue_mail`` adds the message to the outbox (flush, no commit): it is
committed with the change it announces, or not at all, together with a
"mail.deliver" job (``queue_mail(..., deliver=True)``) that sends it after
the commit, outside the request: no claimant waits on an SMTP server, and
the time a page takes does not tell whether a message was sent. A failure
leaves the message queued for ``flask mail send`` (safe from cron).
"""

from __future__ import annotations

import base64
import smtplib
import ssl
import sys
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app

from ..audit.operations import record_event
from ..crypto.models import DataKey
from ..extensions import db
from ..jobs.models import Job
from ..jobs.operations import enqueue, handler
from ..text import visible_text
from ..types import utcnow
from .models import MailStatus, OutboxMessage


class MailError(ValueError):
    """The message cannot be built (bad address)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


def single_line(value: str, limit: int = 200) -> str:
    """Header text: no line breaks (header injection), no control characters."""
    cleaned = visible_text(value.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return cleaned[:limit].strip()


def queue_mail(
    recipient: str,
    subject: str,
    body: str,
    *,
    data_key: DataKey,
    purpose: str,
    attachments: tuple[Attachment, ...] = (),
) -> OutboxMessage:
    """Add a message to the outbox (flush, no commit); see ``delivery_job`` to send it."""
    try:
        address = validate_email(recipient.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise MailError("invalid recipient address") from None
    message = OutboxMessage(
        data_key=data_key,
        purpose=purpose,
        recipient=address,
        subject=single_line(subject),
        body=body,
        attachments=[
            {
                "filename": single_line(a.filename, 100),
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in attachments
        ]
        or None,
    )
    db.session.add(message)
    db.session.flush()
    record_event(
        "mail.queued", object_type="outbox_message", object_id=message.id, details={"purpose": purpose}
    )
    return message


def build_email(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    local, _, domain = message.recipient.rpartition("@")
    email["To"] = Address(addr_spec=f"{local}@{domain}")
    email["Subject"] = single_line(message.subject)
    email["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2].rstrip(">") or None)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    for attachment in message.attachments or []:
        maintype, _, subtype = attachment["content_type"].partition("/")
        email.add_attachment(
            base64.b64decode(attachment["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
        )
    return email


def _send_smtp(emails: list[EmailMessage]) -> None:
    config = current_app.config
    timeout = config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
    with smtp:
        if config["MAIL_USE_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        for email in emails:
            smtp.send_message(email)


def _send_console(emails: list[EmailMessage]) -> None:
    # Embedded default only (production refuses this backend): the demo's
    # messages, fictitious people, shown decoded where the person running it
    # looks, so that links in them can be followed.
    for email in emails:
        attachments = [a.get_filename() for a in email.iter_attachments()]
        print(
            f"\n----- mail (not sent: MAIL_BACKEND=console) -----\nTo: {email['To']}\n"
            f"Subject: {email['Subject']}\n\n{email.get_body(('plain',)).get_content()}"
            + (f"[attachments: {', '.join(attachments)}]\n" if attachments else "")
            + "-----",
            file=sys.stdout,
        )


def delivery_job(message: OutboxMessage) -> Job:
    """Queue the job that sends this message (flush, no commit; dispatch it after the commit)."""
    return enqueue("mail.deliver", message_id=str(message.id))


@handler("mail.deliver")
def deliver_job(message_id: str) -> dict[str, int]:
    sent, failed = deliver_queued(only=uuid.UUID(message_id))
    return {"sent": sent, "failed": failed}


def deliver_queued(limit: int = 100, *, only: uuid.UUID | None = None) -> tuple[int, int]:
    """Send queued messages (or just ``only``); returns (sent, failed this run). Commits each outcome."""
    config = current_app.config
    query = sa.select(OutboxMessage).where(OutboxMessage.status == MailStatus.QUEUED)
    if only is not None:
        query = query.where(OutboxMessage.id == only)
    queued = db.session.execute(query.order_by(OutboxMessage.created_at).limit(limit)).scalars().all()
    sent = failed = 0
    send = _send_smtp if config["MAIL_BACKEND"] == "smtp" else _send_console
    for message in queued:
        message.attempts += 1
        try:
            send([build_email(message)])
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            message.last_error = type(exc).__name__
            if message.attempts >= config["MAIL_MAX_ATTEMPTS"]:
                message.status = MailStatus.FAILED
                record_event(
                    "mail.failed",
                    object_type="outbox_message",
                    object_id=message.id,
                    details={"error": message.last_error},
                )
            current_app.logger.warning(
                "mail %s not sent: %s (attempt %s)", message.id, message.last_error, message.attempts
            )
        else:
            sent += 1
            message.status = MailStatus.SENT
            message.sent_at = utcnow()
            message.last_error = None
        db.session.commit()
    return sent, failed
