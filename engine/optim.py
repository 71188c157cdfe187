"""Optimizers with torch.optim's names, defaults and update rules: SGD, Adam, AdamW, RMSprop, Adagrad.

A step writes each param's data in place (`Tensor.write_`: the same array, its version bumped, so a
backward through a node that saved the old value is refused as in torch). State (momentum buffers,
moments, step counts) is replaced, never mutated, through the journal: a step inside a failing program is
undone with everything else. The formulas are torch's single-tensor algorithms (foreach=False).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from .errors import OptimizerError
from .graph import set_attr
from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "OPTIMIZERS"]


class ParamState:
    """What an optimizer keeps for one param; attributes appear as the algorithm needs them (None before)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class Optimizer:
    """Base: the params (leaves that require grad), the hyperparameters, per-param state, the step count."""

    type: ClassVar[str]
    defaults: ClassVar[dict[str, Any]]

    def __init__(self, params: Tensor | Iterable[Tensor], **hyperparameters: Any) -> None:
        unknown = [k for k in hyperparameters if k not in self.defaults]
        if unknown:
            raise OptimizerError(f"{type(self).__name__} has no hyperparameter {', '.join(map(repr, unknown))} "
                                 f"(it takes {', '.join(self.defaults)})", name=unknown[0])
        hyper = {**self.defaults, **hyperparameters}
        for k, v in hyper.items():
            hyper[k] = _checked(k, v, self.defaults[k])
        self.hyperparameters = hyper
        self._validate(hyper)
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise OptimizerError("optimizer got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise OptimizerError(f"param {i} is not a Tensor")
            if not p.is_leaf:
                raise OptimizerError("can't optimize a non-leaf Tensor")
            if not p.requires_grad:
                raise OptimizerError(f"param {i} does not require grad: an optimizer updates leaves that do")
        if len({id(p) for p in params}) != len(params):
            raise OptimizerError("some parameters appear more than once")
        self.params: list[Tensor] = params
        self.state: list[ParamState] = [ParamState() for _ in params]
        self.steps = 0

    def _validate(self, h: dict[str, Any]) -> None:
        if h["lr"] < 0:
            raise OptimizerError(f"Invalid learning rate: {h['lr']}", name="lr")
        for k in ("eps", "weight_decay", "momentum", "lr_decay", "initial_accumulator_value", "alpha"):
            if k in h and h[k] < 0:
                raise OptimizerError(f"Invalid {k} value: {h[k]}", name=k)
        if "betas" in h:
            for i, b in enumerate(h["betas"]):
                if not 0.0 <= b < 1.0:
                    raise OptimizerError(f"Invalid beta parameter at index {i}: {b}", name="betas")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every param's grad to None (torch's default), or to zeros."""
        for p in self.params:
            if p.grad is not None:
                set_attr(p, "grad", None if set_to_none else np.zeros_like(p.grad))

    def step(self) -> None:
        """One update of every param that has a grad; params whose grad is None are skipped."""
        h = self.hyperparameters
        for p, s in zip(self.params, self.state, strict=True):
            if p.grad is None:
                continue
            g = np.asarray(p.grad, dtype=p.data.dtype)
            p.write_(self._update(p.data, -g if h["maximize"] else g, s, h))
        set_attr(self, "steps", self.steps + 1)

    def _update(self, x: np.ndarray, g: np.ndarray, s: ParamState, h: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "state": [s.as_dict() for s in self.state]}


def _checked(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise OptimizerError(f"hyperparameter '{name}' must be true or false, got {value!r}", name=name)
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(default) or not all(
                _is_number(v) for v in value):
            raise OptimizerError(f"hyperparameter '{name}' must be {len(default)} numbers, got {value!r}", name=name)
        return tuple(float(v) for v in value)
    if not _is_number(value):
        raise OptimizerError(f"hyperparameter '{name}' must be a number, got {value!r}", name=name)
    return float(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _set(s: ParamState, **values: Any) -> None:
    for k, v in values.items():
        set_attr(s, k, v)  # journaled: a rollback puts back the old value (None for a new one)


class SGD(Optimizer):
    type = "sgd"
    defaults = {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
                "maximize": False}

    def _validate(self, h: dict[str, Any]) -> None:
        super()._validate(h)
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise OptimizerError("Nesterov momentum requires a momentum and zero dampening", name="nesterov")

    def _update(self, x: np.ndarray, g: np.ndarray, s: ParamState, h: dict[str, Any]) -> np.ndarray:
        if h["weight_decay"]:
            g = g + h["weight_decay"] * x
        if h["momentum"]:
            buf = s.momentum_buffer
            buf = g.copy() if buf is None else buf * h["momentum"] + (1 - h["dampening"]) * g
            _set(s, momentum_buffer=buf)
            g = g + h["momentum"] * buf if h["nesterov"] else buf
        lr: float = h["lr"]
        return x - lr * g


class Adam(Optimizer):
    type = "adam"
    defaults = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                "maximize": False}
    decoupled = False  # AdamW: weight decay shrinks the param instead of adding to the gradient

    def _update(self, x: np.ndarray, g: np.ndarray, s: ParamState, h: dict[str, Any]) -> np.ndarray:
        lr, (beta1, beta2), eps, wd = h["lr"], h["betas"], h["eps"], h["weight_decay"]
        if s.step is None:
            _set(s, step=0, exp_avg=np.zeros_like(x), exp_avg_sq=np.zeros_like(x))
            if h["amsgrad"]:
                _set(s, max_exp_avg_sq=np.zeros_like(x))
        step = s.step + 1
        if wd and self.decoupled:
            x = x * (1 - lr * wd)
        elif wd:
            g = g + wd * x
        exp_avg = s.exp_avg + (1 - beta1) * (g - s.exp_avg)  # torch's lerp_
        exp_avg_sq = s.exp_avg_sq * beta2 + (1 - beta2) * g * g
        _set(s, step=step, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        if h["amsgrad"]:
            _set(s, max_exp_avg_sq=np.maximum(s.max_exp_avg_sq, exp_avg_sq))
            denom = np.sqrt(s.max_exp_avg_sq) / bias_correction2_sqrt + eps
        else:
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
        updated: np.ndarray = x - (lr / bias_correction1) * (exp_avg / denom)  # (ParamState's arrays are Any)
        return updated


class AdamW(Adam):
    type = "adamw"
    defaults = {**Adam.defaults, "weight_decay": 1e-2}
    decoupled = True


class RMSprop(Optimizer):
    type = "rmsprop"
    defaults = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False,
                "maximize": False}

    def _update(self, x: np.ndarray, g: np.ndarray, s: ParamState, h: dict[str, Any]) -> np.ndarray:
        alpha, eps, momentum = h["alpha"], h["eps"], h["momentum"]
        if s.step is None:
            _set(s, step=0, square_avg=np.zeros_like(x))
            if momentum > 0:
                _set(s, momentum_buffer=np.zeros_like(x))
            if h["centered"]:
                _set(s, grad_avg=np.zeros_like(x))
        if h["weight_decay"]:
            g = g + h["weight_decay"] * x
        square_avg = s.square_avg * alpha + (1 - alpha) * g * g
        _set(s, step=s.step + 1, square_avg=square_avg)
        if h["centered"]:
            grad_avg = s.grad_avg + (1 - alpha) * (g - s.grad_avg)
            _set(s, grad_avg=grad_avg)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        if momentum > 0:
            buf = s.momentum_buffer * momentum + g / avg
            _set(s, momentum_buffer=buf)
            updated: np.ndarray = x - h["lr"] * buf  # (ParamState's arrays are Any)
        else:
            updated = x - h["lr"] * (g / avg)
        return updated


class Adagrad(Optimizer):
    type = "adagrad"
    defaults = {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10,
                "maximize": False}

    def __init__(self, params: Tensor | Iterable[Tensor], **hyperparameters: Any) -> None:
        super().__init__(params, **hyperparameters)
        init = self.hyperparameters["initial_accumulator_value"]
        for p, s in zip(self.params, self.state, strict=True):  # torch fills the sums when it is made
            _set(s, step=0, sum=np.full_like(p.data, init))

    def _update(self, x: np.ndarray, g: np.ndarray, s: ParamState, h: dict[str, Any]) -> np.ndarray:
        step = s.step + 1
        if h["weight_decay"]:
            g = g + h["weight_decay"] * x
        clr = h["lr"] / (1 + (step - 1) * h["lr_decay"])
        total = s.sum + g * g
        _set(s, step=step, sum=total)
        updated: np.ndarray = x - clr * (g / (np.sqrt(total) + h["eps"]))  # (ParamState's arrays are Any)
        return updated


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.type: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}
