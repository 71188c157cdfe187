"""The service's configuration: one settings class read from GRADSERVE_* environment variables."""

from __future__ import annotations

from typing import Literal

from limits import parse_many
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
SESSION_STORES = ("memory", "redis")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADSERVE_", case_sensitive=False, extra="ignore")

    HOST: str = Field("127.0.0.1", description="address to listen on")
    PORT: int = Field(8000, ge=0, le=65535, description="port to listen on")
    WORKERS: int = Field(1, ge=1, description="worker processes; more than 1 needs SESSION_STORE=redis (sessions "
                                              "of the memory store live in one process)")
    MAX_BODY_BYTES: int = Field(64 * MiB, ge=1, description="largest request body, in bytes")
    MAX_TENSOR_ELEMENTS: int = Field(16_777_216, ge=1, description="most elements in any one tensor, "
                                                                   "given or computed")
    MAX_OPS: int = Field(10_000, ge=1, description="most ops applied by one request")
    MAX_SESSION_BYTES: int = Field(256 * MiB, ge=1, description="most bytes a session may hold in tensors, "
                                                                "grads and saved buffers")
    MAX_SESSIONS: int = Field(1_000, ge=1, description="most live sessions")
    SESSION_TTL_SECONDS: float = Field(1_800, gt=0, description="a session expires after this many idle "
                                                                "seconds")
    SESSION_STORE: str = Field("memory", description=f"where sessions live: {', '.join(SESSION_STORES)} (redis: "
                                                     "shared by every process that uses the same REDIS_URL)")
    REDIS_URL: str = Field("redis://127.0.0.1:6379/0", description="the Redis of SESSION_STORE=redis: "
                                                                   "redis://host:port/db, rediss://... (TLS) or "
                                                                   "unix:///path.sock")
    REQUEST_TIMEOUT_SECONDS: float = Field(60, gt=0, description="longest a request may run: one still running "
                                                                 "then is stopped with 504, keeping nothing; with "
                                                                 "the redis store, a session held by a process that "
                                                                 "died is free again after this and a few seconds")
    API_KEYS: str = Field("", description="comma-separated name:sha256hex lines of the accepted API keys; with "
                                         "any key set, every /v1 request needs one")
    API_KEYS_FILE: str = Field("", description="a file of name:sha256hex lines (# starts a comment), read at "
                                              "start, in addition to API_KEYS")
    RATE_LIMIT: str = Field("", description="requests allowed per key (per client address without keys), such "
                                           "as 50/second;1000/minute; empty for no limit")
    MAX_SESSIONS_PER_KEY: int = Field(0, ge=0, description="most live sessions one API key may hold; 0 for no "
                                                           "limit beyond MAX_SESSIONS")
    CORS_ORIGINS: str = Field("", description="comma-separated origins that browsers may call from, or *; "
                                             "empty for none")
    LOG_FORMAT: Literal["text", "json"] = Field("text", description="stderr log lines as text or json")
    LOG_LEVEL: Literal["debug", "info", "warning", "error"] = Field("info", description="least severe level "
                                                                                        "logged")
    MAX_MEMORY_BYTES: int = Field(4096 * MiB, ge=1, description="the process's memory budget: what sessions hold "
                                  "plus what requests in flight may take (bodies, parsing, results, responses); "
                                  "a request that does not fit gets 503 with Retry-After")
    SHUTDOWN_TIMEOUT_SECONDS: float = Field(30, gt=0, description="on SIGTERM, requests in flight get this many "
                                            "seconds to finish (or end with 504) before the process exits")
    READ_TIMEOUT_SECONDS: float = Field(30, gt=0, description="a client that takes longer than this to send "
                                        "its request head, or between two parts of its body, is cut off")
    MAX_CONNECTIONS: int = Field(0, ge=0, description="most open client connections; further ones are "
                                 "refused with 503 (0: the open-file limit less a margin)")
    SESSION_QUEUE_LENGTH: int = Field(64, ge=1, description="most requests waiting for one session while it "
                                      "runs another; further ones get 429 with Retry-After")

    @field_validator("SESSION_STORE")
    @classmethod
    def _known_store(cls, v: str) -> str:
        if v not in SESSION_STORES:
            raise ValueError(f"session store {v!r} is not supported; supported: {', '.join(SESSION_STORES)}")
        return v

    @field_validator("LOG_FORMAT", "LOG_LEVEL", mode="before")
    @classmethod
    def _lowercase(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("RATE_LIMIT")
    @classmethod
    def _rate_limit(cls, v: str) -> str:
        if v.strip():
            try:
                parse_many(v)
            except ValueError:
                raise ValueError(f"{v!r} is not a rate limit such as 50/second;1000/minute") from None
        return v.strip()

    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.CORS_ORIGINS.split(",") if o.strip()]


def env_var(field: str) -> str:
    return f"{Settings.model_config['env_prefix']}{field}"
