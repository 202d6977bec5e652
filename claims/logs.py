"""Logging that cannot be forged: control characters in messages are escaped.

Untrusted text (a header, a filename) reaching a log line could otherwise
start a fake line of its own. Log ids, never personal values.
"""

from __future__ import annotations

import logging

from flask import Flask

_ESCAPES = {i: f"\\x{i:02x}" for i in range(32) if i != 9} | {0x7F: "\\x7f"}


class SafeFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).translate(_ESCAPES)


def configure_logging(app: Flask) -> None:
    formatter = SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in app.logger.handlers:
        handler.setFormatter(formatter)
