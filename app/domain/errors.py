"""The domain's exceptions: what went wrong, in words a caller can act on.

Each class is a kind of failure with a stable ``code`` and ``title``; how a kind is answered
over HTTP (status, headers, the problem document) is decided in ``app.web.problems``.
"""

from collections.abc import Sequence
from typing import Any

RETRY_AFTER_SECONDS = 5


class FrontlineError(Exception):
    """An error a caller can act on; ``detail`` is public, never a database message."""

    code = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.retry_after = retry_after  # seconds after which the same request may succeed
        self.extra = extra or {}


class InvalidParameter(FrontlineError):
    code = "invalid-parameter"
    title = "Invalid query parameter"
    where = "query"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(
            f"{parameter}: {message}",
            errors=[{"parameter": parameter, "in": self.where, "message": message}],
        )
        self.parameter = parameter


class InvalidHeader(InvalidParameter):
    code = "invalid-header"
    title = "Invalid request header"
    where = "header"


class Unprocessable(FrontlineError):
    """Well-formed input that cannot be acted on (an invalid body, an ambiguous name)."""

    code = "unprocessable"
    title = "Unprocessable input"


class InvalidBody(Unprocessable):
    code = "invalid-body"
    title = "Invalid request body"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"{field}: {message}", errors=[{"field": field, "in": "body", "message": message}]
        )
        self.field = field


def invalid_input(name: str, message: str, where: str) -> FrontlineError:
    """The error for bad client input, whether it came in the query or the body."""
    return InvalidBody(name, message) if where == "body" else InvalidParameter(name, message)


class NotFound(FrontlineError):
    code = "not-found"
    title = "Not found"


class MergedAway(FrontlineError):
    """The event was merged into another: its reports now live on ``survivor``."""

    code = "merged"
    title = "Merged into another event"

    def __init__(self, event_id: int, survivor: int) -> None:
        super().__init__(
            f"Event {event_id} was merged into event {survivor}, which has all its sources; "
            f"POST /events/{event_id}/unmerge undoes it.",
            extra={"merged_into": survivor},
        )
        self.event_id = event_id
        self.survivor = survivor


class Conflict(FrontlineError):
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(FrontlineError):
    """The caller's expected version is not the stored one (a stale write)."""

    code = "precondition-failed"
    title = "Precondition failed"


class Unauthorized(FrontlineError):
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(FrontlineError):
    code = "forbidden"
    title = "Forbidden"


class ServiceUnavailable(FrontlineError):
    """A temporary condition; the same request may succeed after ``retry_after`` seconds."""

    code = "service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after: int | None = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail, retry_after=retry_after)
