"""A client library for accessing gradserve"""

# The generated client (Client, api/, models/) and the numpy layer over it (Gradserve, AsyncGradserve, ...).
from .aio import AsyncGradserve, AsyncOptimizer, AsyncSession
from .calls import OptimizerInfo, Result, SessionInfo
from .client import AuthenticatedClient, Client
from .gradserve import Gradserve, Optimizer, Session
from .problems import (
    BadRequestError,
    ConflictError,
    DeadlineExceededError,
    GradserveError,
    GraphFreedError,
    LimitExceededError,
    ModifiedInPlaceError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)
from .tensors import Tensor, Variable, VariableInfo

__all__ = (
    "AsyncGradserve",
    "AsyncOptimizer",
    "AsyncSession",
    "AuthenticatedClient",
    "BadRequestError",
    "Client",
    "ConflictError",
    "DeadlineExceededError",
    "Gradserve",
    "GradserveError",
    "GraphFreedError",
    "LimitExceededError",
    "ModifiedInPlaceError",
    "NotFoundError",
    "Optimizer",
    "OptimizerInfo",
    "RateLimitedError",
    "Result",
    "Session",
    "SessionInfo",
    "Tensor",
    "UnauthorizedError",
    "UnavailableError",
    "UnprocessableError",
    "UnsupportedMediaTypeError",
    "Variable",
    "VariableInfo",
)
