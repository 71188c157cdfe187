"""The service's configuration: one settings class read from GRADSERVE_* environment variables."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
SESSION_STORES = ("memory",)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADSERVE_", case_sensitive=False, extra="ignore")

    HOST: str = Field("127.0.0.1", description="address to listen on")
    PORT: int = Field(8000, ge=0, le=65535, description="port to listen on")
    WORKERS: int = Field(1, ge=1, description="worker processes; sessions of the memory store live in one "
                                              "process, so keep 1 unless only /v1/evaluate is used")
    MAX_BODY_BYTES: int = Field(64 * MiB, ge=1, description="largest request body, in bytes")
    MAX_TENSOR_ELEMENTS: int = Field(16_777_216, ge=1, description="most elements in any one tensor, "
                                                                   "given or computed")
    MAX_OPS: int = Field(10_000, ge=1, description="most ops applied by one request")
    MAX_SESSION_BYTES: int = Field(256 * MiB, ge=1, description="most bytes a session may hold in tensors, "
                                                                "grads and saved buffers")
    MAX_SESSIONS: int = Field(1_000, ge=1, description="most live sessions")
    SESSION_TTL_SECONDS: float = Field(1_800, gt=0, description="a session expires after this many idle "
                                                                "seconds")
    SESSION_STORE: str = Field("memory", description=f"where sessions live: {', '.join(SESSION_STORES)}")

    @field_validator("SESSION_STORE")
    @classmethod
    def _known_store(cls, v: str) -> str:
        if v not in SESSION_STORES:
            raise ValueError(f"session store {v!r} is not supported; supported: {', '.join(SESSION_STORES)}")
        return v


def env_var(field: str) -> str:
    return f"{Settings.model_config['env_prefix']}{field}"
