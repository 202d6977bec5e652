"""Mail through a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from claims.crypto import KeyDestroyed
from claims.crypto.operations import shred_data_key
from claims.extensions import db
from claims.mail.models import MailStatus, OutboxMessage
from claims.mail.operations import Attachment, MailError, deliver_queued, queue_mail


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app: Flask) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_USE_STARTTLS=False,
        MAIL_FROM="Cabinet <contact@cabinet.example>",
    )
    try:
        yield inbox
    finally:
        controller.stop()


def test_queued_mail_is_delivered_with_its_attachment(smtp_server: Inbox, make_claimant: Any) -> None:
    claimant = make_claimant()
    queue_mail(
        claimant.email,
        "Votre dossier APHP-7KQ2-M9XD — accusé de réception",
        "Bonjour Élodie,\nVotre demande est enregistrée.",
        data_key=claimant.data_key,
        purpose="claim_receipt",
        attachments=(Attachment("reçu.pdf", "application/pdf", b"%PDF-1.7 receipt"),),
    )
    db.session.commit()
    assert deliver_queued() == (1, 0)
    ((sender, recipients, message),) = smtp_server.messages
    assert sender == "contact@cabinet.example" and recipients == ["elodie.lefevre@example.fr"]
    assert message["Subject"] == "Votre dossier APHP-7KQ2-M9XD — accusé de réception"
    assert "Bonjour Élodie" in message.get_body(("plain",)).get_content()
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "reçu.pdf" and attachment.get_content() == b"%PDF-1.7 receipt"
    stored = db.session.execute(sa.select(OutboxMessage)).scalar_one()
    assert stored.status == MailStatus.SENT and stored.sent_at is not None
    assert deliver_queued() == (0, 0)  # sent once only


def test_header_injection_is_neutralised(smtp_server: Inbox, make_claimant: Any) -> None:
    claimant = make_claimant()
    queue_mail(
        claimant.email,
        "Bonjour\r\nBcc: attacker@evil.example\r\n\r\nfake body",
        "corps",
        data_key=claimant.data_key,
        purpose="test",
    )
    db.session.commit()
    deliver_queued()
    ((_, recipients, message),) = smtp_server.messages
    assert recipients == ["elodie.lefevre@example.fr"]
    assert message["Bcc"] is None and "\n" not in message["Subject"]
    with pytest.raises(MailError):
        queue_mail(
            "victim@example.fr\r\nBcc: attacker@evil.example",
            "x",
            "y",
            data_key=claimant.data_key,
            purpose="test",
        )


def test_server_down_keeps_the_message_queued_then_gives_up(app: Flask, make_claimant: Any) -> None:
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=free_port(),
        MAIL_USE_STARTTLS=False,
        MAIL_TIMEOUT=2,
        MAIL_MAX_ATTEMPTS=2,
    )
    claimant = make_claimant()
    queue_mail(claimant.email, "Sujet", "Corps", data_key=claimant.data_key, purpose="test")
    db.session.commit()
    assert deliver_queued() == (0, 1)
    message = db.session.execute(sa.select(OutboxMessage)).scalar_one()
    assert message.status == MailStatus.QUEUED and message.last_error == "ConnectionRefusedError"
    deliver_queued()
    db.session.refresh(message)
    assert message.status == MailStatus.FAILED and message.attempts == 2


def test_outbox_is_encrypted_and_shredded_with_the_claimant(make_claimant: Any) -> None:
    claimant = make_claimant()
    message = queue_mail(
        claimant.email,
        "Votre dossier",
        "Votre NIR 2 84 03 93 048 123 78",
        data_key=claimant.data_key,
        purpose="claim_receipt",
    )
    db.session.commit()
    raw = db.session.execute(sa.text("SELECT recipient, body FROM outbox_messages")).one()
    assert b"elodie" not in bytes(raw[0]) and b"NIR" not in bytes(raw[1])
    shred_data_key(claimant.data_key, reason="withdrawal")
    db.session.commit()
    with pytest.raises(KeyDestroyed):
        _ = message.body


def test_console_backend_prints_and_marks_sent(
    app: Flask, make_claimant: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    claimant = make_claimant()
    queue_mail(
        claimant.email,
        "Lien de reprise",
        "https://recours.example/reprise/abc",
        data_key=claimant.data_key,
        purpose="resume_link",
    )
    db.session.commit()
    assert deliver_queued() == (1, 0)
    assert "https://recours.example/reprise/abc" in capsys.readouterr().out


def test_cli_sends_and_lists_without_content(app: Flask, smtp_server: Inbox, make_claimant: Any) -> None:
    claimant = make_claimant()
    queue_mail(
        claimant.email, "Sujet confidentiel", "Corps", data_key=claimant.data_key, purpose="claim_receipt"
    )
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["mail", "send"]).output.strip() == "sent 1, failed 0"
    listing = runner.invoke(args=["mail", "outbox"]).output
    assert "claim_receipt" in listing and "sent" in listing
    assert "elodie" not in listing and "confidentiel" not in listing
    assert len(smtp_server.messages) == 1


def test_admin_reads_the_outbox_without_content_and_requeues(
    client: Any, login_as: Any, make_claimant: Any
) -> None:
    claimant = make_claimant()
    message = queue_mail(
        claimant.email, "Sujet confidentiel", "Corps", data_key=claimant.data_key, purpose="claim_receipt"
    )
    message.status = MailStatus.FAILED
    db.session.commit()
    login_as("admin")
    page = client.get("/console/mail").get_data(as_text=True)
    assert "claim_receipt" in page and "failed" in page
    assert "elodie" not in page and "confidentiel" not in page
    assert client.post(f"/console/mail/{message.id}/requeue").status_code == 302
    db.session.refresh(message)
    assert message.status == MailStatus.QUEUED and message.attempts == 0
