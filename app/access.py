"""Who may call /v1, and how often: API keys and the rate limit, checked before a request's body is read.

Only the SHA-256 of each key is kept, and a presented key is compared with every stored hash in constant time.
The rate limit counts per key name, or per client address when keys are off; its counters live in this process,
or in Redis with the redis session store, so that every process counts the same requests.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import TITLES, problem_response
from .settings import Settings, env_var

log = logging.getLogger("gradserve")

KEY_PREFIX = "gs_"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
WWW_AUTHENTICATE = 'Bearer realm="gradserve"'


def hash_key(key: str) -> str:
    """The lowercase SHA-256 hex of a key's UTF-8 bytes: what GRADSERVE_API_KEYS holds instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"key name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                         "letter or digit")
    return name


@dataclass(frozen=True)
class ApiKeys:
    """The accepted keys, as (name, SHA-256 digest) pairs. Several keys may share a name, to rotate a key."""

    entries: tuple[tuple[str, bytes], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    def name_of(self, key: str) -> str | None:
        digest = hashlib.sha256(key.encode()).digest()
        found = None
        for name, stored in self.entries:  # no early exit: every answer takes the same time
            if hmac.compare_digest(digest, stored):
                found = name
        return found


def _parse_line(text: str, where: str) -> tuple[str, bytes]:
    name, sep, hexdigest = text.strip().partition(":")
    hexdigest = hexdigest.strip().lower()
    if not sep or not SHA256_HEX.fullmatch(hexdigest):
        raise ValueError(f"{where}: expected name:sha256hex (64 hex digits), got {text.strip()[:24]!r}…")
    try:
        check_name(name.strip())
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    return name.strip(), bytes.fromhex(hexdigest)


def load_keys(settings: Settings) -> ApiKeys:
    """The keys of GRADSERVE_API_KEYS and GRADSERVE_API_KEYS_FILE; a ValueError names a malformed entry."""
    entries = [_parse_line(item, f"{env_var('API_KEYS')} entry {i}")
               for i, item in enumerate(settings.API_KEYS.split(","), 1) if item.strip()]
    if settings.API_KEYS_FILE:
        path = Path(settings.API_KEYS_FILE)
        try:
            text = path.read_text("utf-8")
        except OSError as e:
            raise ValueError(f"{env_var('API_KEYS_FILE')}: cannot read {path}: {e.strerror}") from None
        for i, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0]
            if line.strip():
                entries.append(_parse_line(line, f"{path} line {i}"))
    names: dict[bytes, str] = {}
    for name, digest in entries:
        if names.setdefault(digest, name) != name:
            raise ValueError(f"one key is listed under two names, {names[digest]!r} and {name!r}")
    return ApiKeys(tuple(entries))


def presented_key(headers: Headers) -> str | None:
    """The key of `Authorization: Bearer <key>`, else of `X-API-Key: <key>`."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "").strip() or None


def redis_storage_uri(url: str) -> str:
    """GRADSERVE_REDIS_URL in the form the limits library's asyncio Redis storage reads."""
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


def rate_limit_storage(settings: Settings) -> Storage:
    if settings.SESSION_STORE == "redis":
        return RedisStorage(redis_storage_uri(settings.REDIS_URL), implementation="redispy", wrap_exceptions=True,
                            key_prefix="gradserve:rate", socket_connect_timeout=1, socket_timeout=1)
    return MemoryStorage()


class RateLimit:
    """GRADSERVE_RATE_LIMIT: every limit of it (50/second;1000/minute) counted over a moving window."""

    def __init__(self, setting: str, storage: Storage):
        self.setting = setting
        self.items: list[RateLimitItem] = parse_many(setting)
        self.limiter = MovingWindowRateLimiter(storage)

    async def retry_after(self, identity: str) -> int | None:
        """Count one request of `identity`; None when it is allowed, else whole seconds until one would be."""
        for item in self.items:
            if not await self.limiter.hit(item, identity):
                stats = await self.limiter.get_window_stats(item, identity)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None


def rate_limit_of(settings: Settings) -> RateLimit | None:
    return RateLimit(settings.RATE_LIMIT, rate_limit_storage(settings)) if settings.RATE_LIMIT else None


def guarded(path: str) -> bool:
    """The API proper; health, metrics and the docs stay open to probes, scrapers and readers."""
    return path == "/v1" or path.startswith("/v1/")


class AccessMiddleware:
    """Answers 401 without a valid key and 429 past the rate limit; puts the key's name on request.state."""

    def __init__(self, app: ASGIApp, keys: ApiKeys, rate_limit: RateLimit | None):
        self.app = app
        self.keys = keys
        self.rate_limit = rate_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        key_name = None
        if self.keys:
            key = presented_key(Headers(scope=scope))
            if key is None:
                await problem_response(
                    401, "unauthorized", TITLES["unauthorized"],
                    "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>",
                    headers={"WWW-Authenticate": WWW_AUTHENTICATE})(scope, receive, send)
                return
            key_name = self.keys.name_of(key)
            if key_name is None:
                await problem_response(
                    401, "unauthorized", TITLES["unauthorized"], "the API key is not valid",
                    headers={"WWW-Authenticate": WWW_AUTHENTICATE + ', error="invalid_token"'})(scope, receive, send)
                return
        scope.setdefault("state", {})["key_name"] = key_name
        if self.rate_limit is not None:
            identity = f"key:{key_name}" if key_name is not None else f"address:{(scope.get('client') or ('-',))[0]}"
            try:
                retry = await self.rate_limit.retry_after(identity)
            except StorageError as e:
                # the limit is a guard, not a dependency: without its counters, requests go through
                log.warning("rate limit not checked, its storage does not answer: %s", e.storage_error)
                retry = None
            if retry is not None:
                who = f"the key '{key_name}'" if key_name is not None else "this client address"
                await problem_response(
                    429, "rate-limited", TITLES["rate-limited"],
                    f"{who} is over the rate limit (GRADSERVE_RATE_LIMIT {self.rate_limit.setting}); retry in "
                    f"{retry} s", headers={"Retry-After": str(retry)})(scope, receive, send)
                return
        await self.app(scope, receive, send)


class CORS(CORSMiddleware):
    """Starlette's CORS, with a refused preflight told as problem+json like every other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        cors_headers = {k: v for k, v in response.headers.items() if k.startswith("access-control-") or k == "vary"}
        return problem_response(400, "cors-refused", TITLES["cors-refused"],
                                f"{bytes(response.body).decode()}: see GRADSERVE_CORS_ORIGINS and the allowed headers "
                                "(Authorization, X-API-Key, Content-Type, X-Request-ID)", headers=cors_headers)


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key as `Authorization: Bearer <key>`, when the server has keys configured"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "The same API key as `X-API-Key: <key>`"},
}


def declare_access(schema: dict[str, Any]) -> None:
    """Add the key schemes, and the 401 and 429 answers, to every /v1 operation of an OpenAPI document.

    The checks run in a middleware (before the body is read), so FastAPI cannot see them on the routes.
    """
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        if not guarded(path):
            continue
        for operation in operations.values():
            operation["security"] = [{"bearer": []}, {"apiKey": []}]
            responses = operation.setdefault("responses", {})
            responses["401"] = {"description": "No API key, or an unknown one (`WWW-Authenticate: Bearer`)",
                                "content": problem,
                                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
            responses["429"] = {"description": "Over the rate limit or the key's session quota (`Retry-After`)",
                                "content": problem,
                                "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
            operation["responses"] = dict(sorted(responses.items()))
