"""Mail: an encrypted outbox written in the same transaction as what it announces,
delivered afterwards by SMTP (production) or to the console (embedded default)."""
