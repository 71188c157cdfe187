"""The API's routes, one module per resource; `api_router` gathers them."""

from fastapi import APIRouter

from . import evaluate, health, ops, optimizers, sessions

api_router = APIRouter()
api_router.include_router(ops.router)
api_router.include_router(evaluate.router)
api_router.include_router(sessions.router)
api_router.include_router(optimizers.router)
api_router.include_router(health.router)
