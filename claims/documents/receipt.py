"""The claimant's receipt: what they submitted, as a PDF attached to the confirmation mail."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import FONT, FONT_BOLD, euros, para_text, register_fonts

PARIS = ZoneInfo("Europe/Paris")


def receipt_pdf(
    *,
    case_title: str,
    reference: str,
    submitted_at: datetime,
    identity: list[tuple[str, str]],
    harms: list[tuple[str, Decimal]],
    statement: str,
    evidence: list[tuple[str, str, str]],
    accepted_texts: list[str],
    invariant: bool = False,
) -> bytes:
    """All arguments are plain values (labels already in French); every one is escaped."""
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)
    title = ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=15, leading=20, spaceAfter=6)
    heading = ParagraphStyle(
        "heading", parent=body, fontName=FONT_BOLD, fontSize=11.5, spaceBefore=10, spaceAfter=4
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Accusé de réception {reference}",
        author="Recours",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=int(invariant),
    )

    def table(rows: list[list[object]], widths: list[float]) -> Table:
        t = Table(rows, colWidths=widths)
        t.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ]
            )
        )
        return t

    total = sum((amount for _, amount in harms), Decimal("0"))
    story: list[object] = [
        Paragraph("Accusé de réception de votre constitution de partie civile", title),
        Paragraph(f"{para_text(case_title)}", body),
        Paragraph(
            f"Référence : <b>{para_text(reference)}</b> — reçue le "
            f"{submitted_at.astimezone(PARIS):%d/%m/%Y à %H:%M}",
            body,
        ),
        Paragraph("Identité et coordonnées", heading),
        table(
            [[Paragraph(para_text(k), body), Paragraph(para_text(v), body)] for k, v in identity],
            [55 * mm, 115 * mm],
        ),
        Paragraph("Préjudices et montants demandés", heading),
        table(
            [
                [Paragraph(para_text(label), body), Paragraph(para_text(euros(amount)), body)]
                for label, amount in harms
            ]
            + [[Paragraph("<b>Total</b>", body), Paragraph(f"<b>{para_text(euros(total))}</b>", body)]],
            [125 * mm, 45 * mm],
        ),
        Paragraph("Exposé des faits", heading),
        Paragraph(para_text(statement), body),
        Paragraph("Pièces déposées", heading),
    ]
    if evidence:
        story.append(
            table(
                [
                    [
                        Paragraph(para_text(name), body),
                        Paragraph(para_text(kind), body),
                        Paragraph(f"<font size=7>{para_text(sha)}</font>", body),
                    ]
                    for name, kind, sha in evidence
                ],
                [60 * mm, 40 * mm, 70 * mm],
            )
        )
    else:
        story.append(Paragraph("Aucune pièce.", body))
    story += [
        Paragraph("Documents acceptés", heading),
        *[Paragraph(para_text(text), body) for text in accepted_texts],
        Spacer(1, 8 * mm),
        Paragraph(
            "Conservez ce document. Vous pouvez suivre votre dossier avec votre référence et votre "
            "adresse électronique.",
            body,
        ),
    ]
    doc.build(story)
    return out.getvalue()
