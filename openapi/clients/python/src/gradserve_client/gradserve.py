"""The synchronous client: `Gradserve` (a server), `Session` (a graph kept on it), `Optimizer` (one of its
optimizers). Arrays go in and come out as numpy; every error answer raises a GradserveError subclass.

Hand-written (not made by the generator): regeneration keeps this file as it is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar, overload

import httpx

from . import calls
from .calls import Call, Names, OptimizerInfo, Result, SessionInfo, TensorArg
from .client import AuthenticatedClient, Client
from .problems import NotFoundError, error_for
from .tensors import Array, Tensor, Variable, as_array

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "gradserve-client/0.1.0 (python)"


def generated_client(base_url: str | None, api_key: str | None, timeout: float | httpx.Timeout | None,
                     headers: Mapping[str, str] | None, httpx_args: Mapping[str, Any] | None,
                     ) -> Client | AuthenticatedClient:
    """The generated client, configured once: the numpy layer sends its requests through it too, so that
    `gradserve_client.api` functions called with `gs.client` share the URL, key and timeout."""
    url = (base_url or os.environ.get("GRADSERVE_URL") or DEFAULT_URL).rstrip("/")
    key = api_key if api_key is not None else os.environ.get("GRADSERVE_API_KEY") or None
    options: dict[str, Any] = {
        "base_url": url, "headers": {"User-Agent": USER_AGENT, **(headers or {})},
        "timeout": timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        "httpx_args": dict(httpx_args or {}),
    }
    if key:
        return AuthenticatedClient(token=key, **options)  # Authorization: Bearer <key>
    return Client(**options)


class Gradserve:
    """A gradserve server.

        gs = Gradserve("http://127.0.0.1:8000", api_key=None)

    `base_url` defaults to $GRADSERVE_URL (else http://127.0.0.1:8000), `api_key` to $GRADSERVE_API_KEY.
    `timeout` is in seconds per request. Answers 503 (and 429 with Retry-After) are sent again up to
    `max_retries` times, waiting as the server asks but never longer than `max_retry_wait` seconds.
    `httpx_args` go to the httpx.Client (event_hooks, transport, proxy ...).
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float | httpx.Timeout | None = 60.0, max_retries: int = 2, max_retry_wait: float = 30.0,
                 headers: Mapping[str, str] | None = None, httpx_args: Mapping[str, Any] | None = None):
        self.client = generated_client(base_url, api_key, timeout, headers, httpx_args)
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait

    def call(self, call: Call[T]) -> T:
        http = self.client.get_httpx_client()
        attempt = 0
        while True:
            response = http.request(**call.request_args())
            if response.is_success:
                return call.read(response)
            wait = calls.retry_wait(response, attempt, self.max_retries, self.max_retry_wait)
            if wait is None:
                raise error_for(response)
            time.sleep(wait)
            attempt += 1

    @staticmethod
    def tensor(data: Any, requires_grad: bool = False, dtype: str | None = None) -> Tensor:
        """An input: an ndarray keeps its dtype; numbers and lists are float32 (bool if all booleans)."""
        return Tensor(as_array(data, dtype), requires_grad)

    def ops(self) -> list[dict[str, Any]]:
        """The op catalog: name, arity, kwargs, whether it is differentiable, doc."""
        return self.call(calls.ops())

    def evaluate(self, inputs: Mapping[str, Any] | None = None, ops: Sequence[Mapping[str, Any]] | None = None,
                 backward: Sequence[Mapping[str, Any]] | None = None, *,
                 derivatives: Sequence[Mapping[str, Any]] | None = None, return_: Sequence[str] | None = None,
                 ) -> Result:
        """Run a program in a throwaway session. By default the result holds the names the program binds,
        except inputs that do not require grad."""
        body = calls.program(inputs, ops, backward, derivatives=derivatives, return_=return_)
        return self.call(calls.evaluate(body))

    def session(self, inputs: Mapping[str, Any] | None = None, ops: Sequence[Mapping[str, Any]] | None = None,
                backward: Sequence[Mapping[str, Any]] | None = None, *,
                derivatives: Sequence[Mapping[str, Any]] | None = None, return_: Sequence[str] | None = None,
                ) -> Session:
        """A new session, running a first program in it if one is given (`.result` holds its answer).

        Use it in a `with` block to delete it on exit."""
        body = None
        if inputs or ops or backward or derivatives:
            body = calls.program(inputs, ops, backward, derivatives=derivatives, return_=return_)
        return Session(self, self.call(calls.create_session(body)))

    def attach(self, session_id: str) -> Session:
        """A session made earlier (by id); raises NotFoundError when it is unknown or expired."""
        info = self.call(calls.session_info(session_id))
        return Session(self, calls.Created(info.id, info.created_at, info.expires_at))

    def restore(self, snapshot: bytes) -> Session:
        """A new session from a snapshot (Session.snapshot()), continuing exactly where that one was."""
        return Session(self, self.call(calls.restore(snapshot)))

    def close(self) -> None:
        self.client.get_httpx_client().close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Session:
    """A session on the server: its bindings, graph, grads and optimizers, until deleted or idle past its TTL.

    `s["x"]` is the variable x (numpy data and grad). In a `with` block the session is deleted on exit.
    """

    def __init__(self, gs: Gradserve, created: calls.Created):
        self.gs = gs
        self.id = created.id
        self.created_at: datetime = created.created_at
        self.expires_at: datetime = created.expires_at
        self.result: Result = created.result

    def __repr__(self) -> str:
        return f"Session({self.id[:8]}…)"

    def run(self, inputs: Mapping[str, Any] | None = None, ops: Sequence[Mapping[str, Any]] | None = None,
            backward: Sequence[Mapping[str, Any]] | None = None, *, zero_grad: bool = False,
            derivatives: Sequence[Mapping[str, Any]] | None = None, step: Sequence[str] | None = None,
            return_: Sequence[str] | None = None) -> Result:
        """Run a program against the session's bindings: zero_grad, inputs, ops, backward, derivatives, step."""
        body = calls.program(inputs, ops, backward, zero_grad=zero_grad, derivatives=derivatives, step=step,
                             return_=return_)
        return self.gs.call(calls.run(self.id, body))

    def backward(self, output: str, gradient: TensorArg = None, *, retain_graph: bool | None = None,
                 create_graph: bool = False, return_: Sequence[str] | None = None) -> Result:
        """`output.backward(gradient)`: grads accumulate into the leaves; returns the variables with a grad."""
        return self.gs.call(calls.backward(self.id, output, gradient, retain_graph, create_graph, return_))

    @overload
    def grad(self, outputs: Names, inputs: str, grad_outputs: Any = None, *, retain_graph: bool | None = None,  # type: ignore[overload-overlap]
             create_graph: bool = False, allow_unused: bool = False, is_grads_batched: bool = False,
             bind: str | None = None) -> Variable: ...

    @overload
    def grad(self, outputs: Names, inputs: Sequence[str], grad_outputs: Any = None, *,
             retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool = False,
             is_grads_batched: bool = False, bind: Sequence[str] | None = None) -> tuple[Variable | None, ...]: ...

    def grad(self, outputs: Names, inputs: Names, grad_outputs: Any = None, *, retain_graph: bool | None = None,
             create_graph: bool = False, allow_unused: bool = False, is_grads_batched: bool = False,
             bind: Names | None = None) -> Variable | tuple[Variable | None, ...]:
        """`torch.autograd.grad` by names: one Variable for one input name, a tuple for a list (None where
        allow_unused left an input out). Nothing accumulates; `bind` keeps the grads in the session."""
        grads = self.gs.call(calls.grad(self.id, outputs, inputs, grad_outputs, retain_graph, create_graph,
                                        allow_unused, is_grads_batched, bind))
        return pick_grads(grads, inputs, bind)

    def zero_grad(self) -> None:
        """Set every grad in the session to None."""
        self.gs.call(calls.zero_grad(self.id))

    def variable(self, name: str) -> Variable:
        return self.gs.call(calls.variable(self.id, name))

    __getitem__ = variable

    def variables(self) -> dict[str, Variable]:
        """Every binding, with its data and grad."""
        return self.gs.call(calls.session_variables(self.id))

    def info(self) -> SessionInfo:
        """Times and every binding's metadata, without values."""
        return self.gs.call(calls.session_info(self.id))

    def graph(self) -> dict[str, Any]:
        """The autograd graph: nodes (leaves, outputs, grad_fn nodes with their saved buffers) and edges."""
        return self.gs.call(calls.graph(self.id))

    def graph_dot(self) -> str:
        return self.gs.call(calls.graph_text(self.id, "dot"))

    def graph_svg(self) -> str:
        return self.gs.call(calls.graph_text(self.id, "svg"))

    @overload
    def jacobian(self, outputs: str, inputs: str, *, chunk_size: int | None = None) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    def jacobian(self, outputs: Names, inputs: Names, *, chunk_size: int | None = None) -> dict[str, Any]: ...

    def jacobian(self, outputs: Names, inputs: Names, *, chunk_size: int | None = None) -> Any:
        """d outputs / d inputs, of shape out.shape + in.shape: an array for two names, else {out: {in: array}}
        (one level less when one side is a single name)."""
        return self.gs.call(calls.jacobian(self.id, outputs, inputs, chunk_size))

    @overload
    def jvp(self, outputs: str, inputs: Names, tangents: Mapping[str, TensorArg]) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    def jvp(self, outputs: Sequence[str], inputs: Names, tangents: Mapping[str, TensorArg]) -> dict[str, Array]: ...

    def jvp(self, outputs: Names, inputs: Names, tangents: Mapping[str, TensorArg]) -> Any:
        """J·v for tangents by input name: an array per output."""
        return self.gs.call(calls.jvp(self.id, outputs, inputs, tangents))

    @overload
    def hvp(self, output: str, inputs: str, v: Mapping[str, TensorArg]) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    def hvp(self, output: str, inputs: Sequence[str], v: Mapping[str, TensorArg]) -> dict[str, Array]: ...

    def hvp(self, output: str, inputs: Names, v: Mapping[str, TensorArg]) -> Any:
        """H·v of a single-element output: an array per input."""
        return self.gs.call(calls.hvp(self.id, output, inputs, v))

    @overload
    def hessian(self, output: str, inputs: str) -> Array: ...  # type: ignore[overload-overlap]

    @overload
    def hessian(self, output: str, inputs: Sequence[str]) -> dict[str, dict[str, Array]]: ...

    def hessian(self, output: str, inputs: Names) -> Any:
        """Second derivatives of a single-element output, of shape in_i.shape + in_j.shape."""
        return self.gs.call(calls.hessian(self.id, output, inputs))

    def optimizer(self, name: str, type: str, params: Sequence[str], **hyperparameters: Any) -> Optimizer:
        """A new optimizer over leaf params (sgd, adam, adamw, rmsprop, adagrad; PyTorch's hyperparameters)."""
        return Optimizer(self, self.gs.call(calls.create_optimizer(self.id, name, type, params, hyperparameters)))

    def get_optimizer(self, name: str) -> Optimizer:
        return Optimizer(self, self.gs.call(calls.optimizer(self.id, name)))

    def snapshot(self) -> bytes:
        """The whole session as a file (safetensors), for Gradserve.restore."""
        return self.gs.call(calls.snapshot(self.id))

    def delete(self) -> None:
        self.gs.call(calls.delete_session(self.id))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.delete()
        except NotFoundError:  # already deleted or expired: nothing left to clean up
            pass


class Optimizer:
    """An optimizer in a session: `step()` updates its params in place as torch.optim does."""

    def __init__(self, session: Session, info: OptimizerInfo):
        self.session = session
        self.name = info.name
        self.info = info

    def __repr__(self) -> str:
        return f"Optimizer({self.name!r}, {self.info.type}, params={self.info.params})"

    def step(self) -> Result:
        """One step; returns the updated params."""
        return self.session.gs.call(calls.optimizer_step(self.session.id, self.name))

    def zero_grad(self) -> None:
        """Set the params' grads to None."""
        self.session.gs.call(calls.optimizer_zero_grad(self.session.id, self.name))

    def refresh(self) -> OptimizerInfo:
        """The optimizer as the server has it now (steps taken, hyperparameters)."""
        self.info = self.session.gs.call(calls.optimizer(self.session.id, self.name))
        return self.info


def pick_grads(grads: Mapping[str, Variable], inputs: Names, bind: Names | None,
               ) -> Variable | tuple[Variable | None, ...]:
    """The grads by input, as the server names them (the bind name, else the input's name)."""
    keys = [bind] if isinstance(bind, str) else list(bind) if bind is not None else None
    if isinstance(inputs, str):
        key = keys[0] if keys else inputs
        if key not in grads:
            raise KeyError(f"no grad for {inputs!r} (unused with allow_unused?); pass a list of inputs to get None")
        return grads[key]
    names = keys if keys else list(inputs)
    return tuple(grads.get(k) for k in names)
