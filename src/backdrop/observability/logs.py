"""Log setup for the server: the service's own INFO lines, a request id on every line,
JSON lines as an option, and no secrets (upload signatures, API keys) ever."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from backdrop.settings import LogSettings

# The id of the request being answered, for every line logged while it is.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")

# Query values that grant something, and API keys, wherever a message might carry them.
_SECRETS = re.compile(r"((?:signature|x-api-key|api_key)=)[^&\s\"']+|\bbd_[A-Za-z0-9_-]{8,}")

_TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: f"{m.group(1)}REDACTED" if m.group(1) else "bd_REDACTED", text)


class RequestContext(logging.Filter):
    """Adds the request id and blanks out secrets in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def configure_logging(settings: LogSettings) -> None:
    """One handler on the root logger: backdrop's and uvicorn's lines alike."""
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter
    if settings.format == "json":
        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    else:
        formatter = logging.Formatter(_TEXT)
    handler.setFormatter(formatter)
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # asyncio logs every failed accept() with a traceback; the connection guard counts them.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
