"""One error model: a small exception hierarchy rendered as RFC 9457 problem documents."""

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("frontline.errors")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5


class ProblemError(Exception):
    """An error a client can act on; ``detail`` is public, never a database message."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = headers or {}
        self.extra = extra or {}


class InvalidParameter(ProblemError):
    status = 400
    code = "invalid-parameter"
    title = "Invalid query parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(
            f"{parameter}: {message}",
            errors=[{"parameter": parameter, "in": "query", "message": message}],
        )
        self.parameter = parameter


class InvalidBody(ProblemError):
    status = 422
    code = "invalid-body"
    title = "Invalid request body"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"{field}: {message}", errors=[{"field": field, "in": "body", "message": message}]
        )
        self.field = field


def invalid_input(name: str, message: str, where: str) -> ProblemError:
    """The error for bad client input, whether it came in the query or the body."""
    return InvalidBody(name, message) if where == "body" else InvalidParameter(name, message)


class NotFound(ProblemError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(ProblemError):
    status = 412
    code = "precondition-failed"
    title = "Precondition failed"


class PreconditionRequired(ProblemError):
    status = 428
    code = "precondition-required"
    title = "Precondition required"


class PayloadTooLarge(ProblemError):
    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(ProblemError):
    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class ServiceUnavailable(ProblemError):
    status = 503
    code = "service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """Render one problem document; the only place that shapes error bodies."""
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    body.update(extra or {})
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _location_name(loc: Sequence[Any]) -> tuple[str, str]:
    """Split a pydantic error location into (where, name): ('query', 'limit')."""
    where = str(loc[0]) if loc else "body"
    name = ".".join(str(part) for part in loc[1:]) or where
    return where, name


async def _problem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    body_errors = False
    for err in exc.errors():
        where, name = _location_name(err.get("loc", ()))
        key = "field" if where == "body" else "parameter"
        body_errors = body_errors or where == "body"
        errors.append({key: name, "in": where, "message": str(err.get("msg", "invalid"))})
    status, code, title = (
        (422, "invalid-body", "Invalid request body")
        if body_errors
        else (400, "invalid-parameter", "Invalid query parameter")
    )
    detail = "; ".join(f"{e.get('parameter', e.get('field'))}: {e['message']}" for e in errors)
    return problem_response(status, code, title, detail, instance=request.url.path, errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}
    codes = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}
    code = codes.get(exc.status_code, "http-error")
    return problem_response(
        exc.status_code,
        code,
        titles.get(exc.status_code, "HTTP error"),
        str(exc.detail),
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    # Connection loss, a restarting server or a statement timeout: tell the client to retry.
    log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
    err = ServiceUnavailable("The database is unavailable or too slow right now; retry shortly.")
    return await _problem_error(request, err)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return problem_response(
        500,
        "internal-error",
        "Internal server error",
        "An unexpected error occurred; it has been logged.",
        instance=request.url.path,
    )


# Raw asyncpg errors reach the handlers too: SQLAlchemy does not wrap the ones a
# server-side cursor raises while fetching (an export's first batch).
UNREACHABLE = (OperationalError, InterfaceError, ConnectionError, OSError,
               asyncpg.ConnectionDoesNotExistError)  # fmt: skip


def is_database_unavailable(exc: BaseException) -> bool:
    """True for failures that mean 'try again later' rather than a bug."""
    if isinstance(exc, UNREACHABLE):
        return True
    # 57014 statement timeout, 57P01..57P03 shutdown, 53300 too many connections, 08* link.
    state = _sqlstate(exc)
    return state is not None and (
        state in {"57014", "57P01", "57P02", "57P03", "53300"} or state.startswith("08")
    )


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, raw (asyncpg) or wrapped (SQLAlchemy's DBAPIError)."""
    orig = getattr(exc, "orig", None)
    for candidate in (exc, orig, getattr(orig, "__cause__", None)):
        if state := getattr(candidate, "sqlstate", None):
            return str(state)
    return None


async def _driver_error(request: Request, exc: Exception) -> Response:
    if is_database_unavailable(exc):
        return await _database_error(request, exc)
    return await _unexpected_error(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler once, so all errors share one shape."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Registered per class (not only under Exception) so they are answered like any other
    # handled error, instead of passing through Starlette's server-error middleware.
    for driver_error in (DBAPIError, InterfaceError, OSError, asyncpg.PostgresError,
                         asyncpg.ConnectionDoesNotExistError):  # fmt: skip
        app.add_exception_handler(driver_error, _driver_error)
    app.add_exception_handler(Exception, _unexpected_error)
