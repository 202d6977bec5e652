"""Logging that cannot be forged: control characters in messages are escaped.

Untrusted text (a header, a filename) reaching a log line could otherwise
start a fake line of its own. Log ids, never personal values.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

_ESCAPES = {i: f"\\x{i:02x}" for i in range(32) if i != 9} | {0x7F: "\\x7f"}


class SafeFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).translate(_ESCAPES)


# Paths that carry a bearer token (one-time links): the token is cut from access logs.
_TOKEN_PATHS = re.compile(r"(/me/(?:link|email)/|/reprendre/|/console/invitation/)[^\s\"?/]+")


def redact_tokens(text: str) -> str:
    return _TOKEN_PATHS.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """For access logs (the development server's, gunicorn's): a one-time link's token never
    reaches a log line, where anyone reading logs could use it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(app: Flask) -> None:
    formatter = SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in app.logger.handlers:
        handler.setFormatter(formatter)
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
