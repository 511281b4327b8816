"""Errors over HTTP: each domain error's status and headers, rendered as RFC 9457 problems.

The only place that shapes error bodies; the errors that only HTTP has (a body too large, a
wrong media type, a missing If-Match, too many requests) are defined here too.
"""

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, InterfaceError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.errors import (
    Conflict,
    Forbidden,
    FrontlineError,
    InvalidParameter,
    MergedAway,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)
from app.store.errors import is_database_unavailable
from app.web.methods import allowed_methods

log = logging.getLogger("frontline.errors")

PROBLEM_JSON = "application/problem+json"
CHALLENGE = 'Bearer realm="frontline"'


class PayloadTooLarge(FrontlineError):
    code = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(FrontlineError):
    code = "unsupported-media-type"
    title = "Unsupported media type"


class PreconditionRequired(FrontlineError):
    code = "precondition-required"
    title = "Precondition required"


class TooManyRequests(FrontlineError):
    code = "too-many-requests"
    title = "Too many requests"


# The nearest class in an error's MRO decides its status; FrontlineError itself is a 400.
STATUS: dict[type[FrontlineError], int] = {
    FrontlineError: 400,
    MergedAway: 308,
    InvalidParameter: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Unprocessable: 422,
    PreconditionRequired: 428,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
}


# The answer for a merged event's URL, as routes that read one document it.
MERGED_RESPONSE: dict[int | str, dict[str, Any]] = {
    308: {
        "description": "The event was merged into another: `Location` is the survivor's URL "
        '(`Link: <…>; rel="successor-version"` too), the body a problem naming it',
        "headers": {"Location": {"schema": {"type": "string"}},
                    "Link": {"schema": {"type": "string"}}},
        "content": {PROBLEM_JSON: {}},
    }
}  # fmt: skip


def status_of(exc: FrontlineError) -> int:
    """The HTTP status of a domain error: that of its nearest mapped class."""
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


def headers_of(exc: FrontlineError) -> dict[str, str]:
    """The headers a client needs to act on the error (retry later, how to authenticate)."""
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = CHALLENGE
    return headers


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


def error_response(exc: FrontlineError, instance: str | None = None) -> Response:
    """The problem document of one domain error."""
    return problem_response(
        status_of(exc),
        exc.code,
        exc.title,
        exc.detail,
        instance=instance,
        errors=exc.errors,
        headers=headers_of(exc),
        extra=exc.extra,
    )


def _location_name(loc: Sequence[Any]) -> tuple[str, str]:
    """Split a pydantic error location into (where, name): ('query', 'limit')."""
    where = str(loc[0]) if loc else "body"
    name = ".".join(str(part) for part in loc[1:]) or where
    return where, name


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FrontlineError)
    response = error_response(exc, request.url.path)
    if isinstance(exc, MergedAway):
        _point_to_survivor(response, request, exc)
    return response


def _point_to_survivor(response: Response, request: Request, exc: MergedAway) -> None:
    """A read of a merged event is redirected (308: same method, any client follows it) to
    the same URL with the survivor's id. Unmerge can undo a merge, so caches must ask again."""
    path = request.url.path
    head, _, last = path.rpartition("/")
    target = f"{head}/{exc.survivor}" if last == str(exc.event_id) else f"/events/{exc.survivor}"
    if request.url.query:
        target += f"?{request.url.query}"
    response.headers["Location"] = target
    response.headers["Link"] = f'<{target}>; rel="successor-version"'
    response.headers["Cache-Control"] = "no-cache"


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
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request.app.state.routes, request.scope)
        headers["Allow"] = ", ".join(allowed)
        if request.method == "OPTIONS":  # no route serves OPTIONS itself: this is the answer
            return Response(status_code=204, headers=headers)
    titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}
    codes = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}
    code = codes.get(exc.status_code, "http-error")
    return problem_response(
        exc.status_code,
        code,
        titles.get(exc.status_code, "HTTP error"),
        str(exc.detail),
        instance=request.url.path,
        headers=headers,
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    # Connection loss, a restarting server or a statement timeout: tell the client to retry.
    log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
    err = ServiceUnavailable("The database is unavailable or too slow right now; retry shortly.")
    return error_response(err, request.url.path)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return problem_response(
        500,
        "internal-error",
        "Internal server error",
        "An unexpected error occurred; it has been logged.",
        instance=request.url.path,
    )


async def _driver_error(request: Request, exc: Exception) -> Response:
    if is_database_unavailable(exc):
        return await _database_error(request, exc)
    return await _unexpected_error(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler once, so all errors share one shape."""
    app.add_exception_handler(FrontlineError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Registered per class (not only under Exception) so they are answered like any other
    # handled error, instead of passing through Starlette's server-error middleware.
    for driver_error in (DBAPIError, InterfaceError, OSError, asyncpg.PostgresError,
                         asyncpg.ConnectionDoesNotExistError):  # fmt: skip
        app.add_exception_handler(driver_error, _driver_error)
    app.add_exception_handler(Exception, _unexpected_error)
