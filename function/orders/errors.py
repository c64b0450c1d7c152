"""Errors a caller may see, each with its HTTP status and a stable machine-readable code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ServiceError(Exception):
    """An error whose message is safe to show a caller (no SQL, no stack, no secrets)."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadRequest(ServiceError):
    status, code = 400, "bad_request"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class MethodNotAllowed(ServiceError):
    """The path exists but not with this method; ``allowed`` becomes the Allow header (RFC 9110 requires it)."""

    status, code = 405, "method_not_allowed"

    def __init__(self, message: str, allowed: Iterable[str]) -> None:
        super().__init__(message)
        self.allowed = sorted(allowed)


class Conflict(ServiceError):
    status, code = 409, "conflict"


class PayloadTooLarge(ServiceError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status, code = 415, "unsupported_media_type"


class Unavailable(ServiceError):
    """A dependency cannot be reached now; the caller should retry after ``retry_after`` seconds."""

    status, code = 503, "unavailable"
    retry_after = 5


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"


class QueueUnavailable(Unavailable):
    code = "queue_unavailable"
