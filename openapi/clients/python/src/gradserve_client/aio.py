"""The asynchronous client: `AsyncGradserve`, `AsyncSession`, `AsyncOptimizer`, the same as the synchronous
ones (gradserve.py) with `await`. `async with gs.session(...) as s:` deletes the session on exit.

Hand-written (not made by the generator): regeneration keeps this file as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar, overload

import httpx

from . import calls
from .calls import Call, Names, OptimizerInfo, Result, SessionInfo, TensorArg
from .gradserve import generated_client, pick_grads
from .problems import NotFoundError, error_for
from .tensors import Array, Tensor, Variable, as_array

T = TypeVar("T")


class AsyncGradserve:
    """A gradserve server, used with `await` (arguments as Gradserve's)."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float | httpx.Timeout | None = 60.0, max_retries: int = 2, max_retry_wait: float = 30.0,
                 headers: Mapping[str, str] | None = None, httpx_args: Mapping[str, Any] | None = None):
        self.client = generated_client(base_url, api_key, timeout, headers, httpx_args)
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait

    async def call(self, call: Call[T]) -> T:
        http = self.client.get_async_httpx_client()
        attempt = 0
        while True:
            response = await http.request(**call.request_args())
            if response.is_success:
                return call.read(response)
            wait = calls.retry_wait(response, attempt, self.max_retries, self.max_retry_wait)
            if wait is None:
                raise error_for(response)
            await asyncio.sleep(wait)
            attempt += 1

    @staticmethod
    def tensor(data: Any, requires_grad: bool = False, dtype: str | None = None) -> Tensor:
        """An input: an ndarray keeps its dtype; numbers and lists are float32 (bool if all booleans)."""
        return Tensor(as_array(data, dtype), requires_grad)

    async def ops(self) -> list[dict[str, Any]]:
        return await self.call(calls.ops())

    async def evaluate(self, inputs: Mapping[str, Any] | None = None,
                       ops: Sequence[Mapping[str, Any]] | None = None,
                       backward: Sequence[Mapping[str, Any]] | None = None, *,
                       derivatives: Sequence[Mapping[str, Any]] | None = None,
                       return_: Sequence[str] | None = None) -> Result:
        body = calls.program(inputs, ops, backward, derivatives=derivatives, return_=return_)
        return await self.call(calls.evaluate(body))

    def session(self, inputs: Mapping[str, Any] | None = None, ops: Sequence[Mapping[str, Any]] | None = None,
                backward: Sequence[Mapping[str, Any]] | None = None, *,
                derivatives: Sequence[Mapping[str, Any]] | None = None, return_: Sequence[str] | None = None,
                ) -> SessionOpener:
        """A new session: `s = await gs.session(...)`, or `async with gs.session(...) as s:` to delete it on
        exit."""
        body = None
        if inputs or ops or backward or derivatives:
            body = calls.program(inputs, ops, backward, derivatives=derivatives, return_=return_)
        return SessionOpener(self, self.call(calls.create_session(body)))

    async def attach(self, session_id: str) -> AsyncSession:
        info = await self.call(calls.session_info(session_id))
        return AsyncSession(self, calls.Created(info.id, info.created_at, info.expires_at))

    async def restore(self, snapshot: bytes) -> AsyncSession:
        return AsyncSession(self, await self.call(calls.restore(snapshot)))

    async def aclose(self) -> None:
        await self.client.get_async_httpx_client().aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class SessionOpener:
    """The session being created: await it, or use it in `async with` (deleted on exit)."""

    def __init__(self, gs: AsyncGradserve, creating: Awaitable[calls.Created]):
        self._gs = gs
        self._creating = creating
        self._session: AsyncSession | None = None

    async def _open(self) -> AsyncSession:
        if self._session is None:
            self._session = AsyncSession(self._gs, await self._creating)
        return self._session

    def __await__(self) -> Generator[Any, None, AsyncSession]:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncSession:
        return await self._open()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.__aexit__(exc_type, exc, tb)


class AsyncSession:
    """A session on the server, used with `await` (methods as Session's)."""

    def __init__(self, gs: AsyncGradserve, created: calls.Created):
        self.gs = gs
        self.id = created.id
        self.created_at: datetime = created.created_at
        self.expires_at: datetime = created.expires_at
        self.result: Result = created.result

    def __repr__(self) -> str:
        return f"AsyncSession({self.id[:8]}…)"

    async def run(self, inputs: Mapping[str, Any] | None = None, ops: Sequence[Mapping[str, Any]] | None = None,
                  backward: Sequence[Mapping[str, Any]] | None = None, *, zero_grad: bool = False,
                  derivatives: Sequence[Mapping[str, Any]] | None = None, step: Sequence[str] | None = None,
                  return_: Sequence[str] | None = None) -> Result:
        body = calls.program(inputs, ops, backward, zero_grad=zero_grad, derivatives=derivatives, step=step,
                             return_=return_)
        return await self.gs.call(calls.run(self.id, body))

    async def backward(self, output: str, gradient: TensorArg = None, *, retain_graph: bool | None = None,
                       create_graph: bool = False, return_: Sequence[str] | None = None) -> Result:
        return await self.gs.call(calls.backward(self.id, output, gradient, retain_graph, create_graph, return_))

    @overload
    async def grad(self, outputs: Names, inputs: str, grad_outputs: Any = None, *,  # type: ignore[overload-overlap]
                   retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool = False,
                   is_grads_batched: bool = False, bind: str | None = None) -> Variable: ...

    @overload
    async def grad(self, outputs: Names, inputs: Sequence[str], grad_outputs: Any = None, *,
                   retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool = False,
                   is_grads_batched: bool = False, bind: Sequence[str] | None = None,
                   ) -> tuple[Variable | None, ...]: ...

    async def grad(self, outputs: Names, inputs: Names, grad_outputs: Any = None, *,
                   retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool = False,
                   is_grads_batched: bool = False, bind: Names | None = None,
                   ) -> Variable | tuple[Variable | None, ...]:
        grads = await self.gs.call(calls.grad(self.id, outputs, inputs, grad_outputs, retain_graph, create_graph,
                                              allow_unused, is_grads_batched, bind))
        return pick_grads(grads, inputs, bind)

    async def zero_grad(self) -> None:
        await self.gs.call(calls.zero_grad(self.id))

    async def variable(self, name: str) -> Variable:
        return await self.gs.call(calls.variable(self.id, name))

    def __getitem__(self, name: str) -> Awaitable[Variable]:
        return self.variable(name)

    async def variables(self) -> dict[str, Variable]:
        return await self.gs.call(calls.session_variables(self.id))

    async def info(self) -> SessionInfo:
        return await self.gs.call(calls.session_info(self.id))

    async def graph(self) -> dict[str, Any]:
        return await self.gs.call(calls.graph(self.id))

    async def graph_dot(self) -> str:
        return await self.gs.call(calls.graph_text(self.id, "dot"))

    async def graph_svg(self) -> str:
        return await self.gs.call(calls.graph_text(self.id, "svg"))

    @overload
    async def jacobian(self, outputs: str, inputs: str, *, chunk_size: int | None = None) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    async def jacobian(self, outputs: Names, inputs: Names, *, chunk_size: int | None = None,
                       ) -> dict[str, Any]: ...

    async def jacobian(self, outputs: Names, inputs: Names, *, chunk_size: int | None = None) -> Any:
        return await self.gs.call(calls.jacobian(self.id, outputs, inputs, chunk_size))

    @overload
    async def jvp(self, outputs: str, inputs: Names, tangents: Mapping[str, TensorArg]) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    async def jvp(self, outputs: Sequence[str], inputs: Names, tangents: Mapping[str, TensorArg],
                  ) -> dict[str, Array]: ...

    async def jvp(self, outputs: Names, inputs: Names, tangents: Mapping[str, TensorArg]) -> Any:
        return await self.gs.call(calls.jvp(self.id, outputs, inputs, tangents))

    @overload
    async def hvp(self, output: str, inputs: str, v: Mapping[str, TensorArg]) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    async def hvp(self, output: str, inputs: Sequence[str], v: Mapping[str, TensorArg]) -> dict[str, Array]: ...

    async def hvp(self, output: str, inputs: Names, v: Mapping[str, TensorArg]) -> Any:
        return await self.gs.call(calls.hvp(self.id, output, inputs, v))

    @overload
    async def hessian(self, output: str, inputs: str) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    async def hessian(self, output: str, inputs: Sequence[str]) -> dict[str, dict[str, Array]]: ...

    async def hessian(self, output: str, inputs: Names) -> Any:
        return await self.gs.call(calls.hessian(self.id, output, inputs))

    async def optimizer(self, name: str, type: str, params: Sequence[str], **hyperparameters: Any,
                        ) -> AsyncOptimizer:
        info = await self.gs.call(calls.create_optimizer(self.id, name, type, params, hyperparameters))
        return AsyncOptimizer(self, info)

    async def get_optimizer(self, name: str) -> AsyncOptimizer:
        return AsyncOptimizer(self, await self.gs.call(calls.optimizer(self.id, name)))

    async def snapshot(self) -> bytes:
        return await self.gs.call(calls.snapshot(self.id))

    async def delete(self) -> None:
        await self.gs.call(calls.delete_session(self.id))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.delete()
        except NotFoundError:
            pass


class AsyncOptimizer:
    def __init__(self, session: AsyncSession, info: OptimizerInfo):
        self.session = session
        self.name = info.name
        self.info = info

    def __repr__(self) -> str:
        return f"AsyncOptimizer({self.name!r}, {self.info.type}, params={self.info.params})"

    async def step(self) -> Result:
        return await self.session.gs.call(calls.optimizer_step(self.session.id, self.name))

    async def zero_grad(self) -> None:
        await self.session.gs.call(calls.optimizer_zero_grad(self.session.id, self.name))

    async def refresh(self) -> OptimizerInfo:
        self.info = await self.session.gs.call(calls.optimizer(self.session.id, self.name))
        return self.info
