from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.optimizer_request_type import OptimizerRequestType
from ..types import UNSET, Unset

T = TypeVar("T", bound="OptimizerRequest")


@_attrs_define
class OptimizerRequest:
    """An optimizer of some of the session's params, with torch.optim's hyperparameter names and defaults.

    Hyperparameters sit at the top level; each type takes its own (`momentum` is for sgd and rmsprop, `betas`
    for adam and adamw...), and one it does not take is a 422.

        Attributes:
            name (str): a variable name (an identifier)
            params (list[str] | str): the names of leaves that require grad
            type_ (OptimizerRequestType):
            alpha (float | None | Unset): rmsprop smoothing constant (default 0.99)
            amsgrad (bool | None | Unset): adam, adamw (default false)
            betas (list[float] | None | Unset): adam, adamw (default [0.9, 0.999])
            centered (bool | None | Unset): rmsprop (default false)
            dampening (float | None | Unset): sgd (default 0)
            eps (float | None | Unset): adam, adamw, rmsprop (1e-8); adagrad (1e-10)
            initial_accumulator_value (float | None | Unset): adagrad (default 0)
            lr (float | None | Unset): learning rate (sgd, adam, adamw: 0.001; rmsprop, adagrad: 0.01)
            lr_decay (float | None | Unset): adagrad (default 0)
            maximize (bool | None | Unset): maximize instead of minimize (default false)
            momentum (float | None | Unset): sgd, rmsprop (default 0)
            nesterov (bool | None | Unset): sgd (default false)
            weight_decay (float | None | Unset): L2 penalty (adamw: decoupled, default 0.01; others 0)
    """

    name: str
    params: list[str] | str
    type_: OptimizerRequestType
    alpha: float | None | Unset = UNSET
    amsgrad: bool | None | Unset = UNSET
    betas: list[float] | None | Unset = UNSET
    centered: bool | None | Unset = UNSET
    dampening: float | None | Unset = UNSET
    eps: float | None | Unset = UNSET
    initial_accumulator_value: float | None | Unset = UNSET
    lr: float | None | Unset = UNSET
    lr_decay: float | None | Unset = UNSET
    maximize: bool | None | Unset = UNSET
    momentum: float | None | Unset = UNSET
    nesterov: bool | None | Unset = UNSET
    weight_decay: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        params: list[str] | str
        if isinstance(self.params, list):
            params = self.params

        else:
            params = self.params

        type_ = self.type_.value

        alpha: float | None | Unset
        if isinstance(self.alpha, Unset):
            alpha = UNSET
        else:
            alpha = self.alpha

        amsgrad: bool | None | Unset
        if isinstance(self.amsgrad, Unset):
            amsgrad = UNSET
        else:
            amsgrad = self.amsgrad

        betas: list[float] | None | Unset
        if isinstance(self.betas, Unset):
            betas = UNSET
        elif isinstance(self.betas, list):
            betas = []
            for betas_type_0_item_data in self.betas:
                betas_type_0_item: float
                betas_type_0_item = betas_type_0_item_data
                betas.append(betas_type_0_item)

        else:
            betas = self.betas

        centered: bool | None | Unset
        if isinstance(self.centered, Unset):
            centered = UNSET
        else:
            centered = self.centered

        dampening: float | None | Unset
        if isinstance(self.dampening, Unset):
            dampening = UNSET
        else:
            dampening = self.dampening

        eps: float | None | Unset
        if isinstance(self.eps, Unset):
            eps = UNSET
        else:
            eps = self.eps

        initial_accumulator_value: float | None | Unset
        if isinstance(self.initial_accumulator_value, Unset):
            initial_accumulator_value = UNSET
        else:
            initial_accumulator_value = self.initial_accumulator_value

        lr: float | None | Unset
        if isinstance(self.lr, Unset):
            lr = UNSET
        else:
            lr = self.lr

        lr_decay: float | None | Unset
        if isinstance(self.lr_decay, Unset):
            lr_decay = UNSET
        else:
            lr_decay = self.lr_decay

        maximize: bool | None | Unset
        if isinstance(self.maximize, Unset):
            maximize = UNSET
        else:
            maximize = self.maximize

        momentum: float | None | Unset
        if isinstance(self.momentum, Unset):
            momentum = UNSET
        else:
            momentum = self.momentum

        nesterov: bool | None | Unset
        if isinstance(self.nesterov, Unset):
            nesterov = UNSET
        else:
            nesterov = self.nesterov

        weight_decay: float | None | Unset
        if isinstance(self.weight_decay, Unset):
            weight_decay = UNSET
        else:
            weight_decay = self.weight_decay

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "params": params,
                "type": type_,
            }
        )
        if alpha is not UNSET:
            field_dict["alpha"] = alpha
        if amsgrad is not UNSET:
            field_dict["amsgrad"] = amsgrad
        if betas is not UNSET:
            field_dict["betas"] = betas
        if centered is not UNSET:
            field_dict["centered"] = centered
        if dampening is not UNSET:
            field_dict["dampening"] = dampening
        if eps is not UNSET:
            field_dict["eps"] = eps
        if initial_accumulator_value is not UNSET:
            field_dict["initial_accumulator_value"] = initial_accumulator_value
        if lr is not UNSET:
            field_dict["lr"] = lr
        if lr_decay is not UNSET:
            field_dict["lr_decay"] = lr_decay
        if maximize is not UNSET:
            field_dict["maximize"] = maximize
        if momentum is not UNSET:
            field_dict["momentum"] = momentum
        if nesterov is not UNSET:
            field_dict["nesterov"] = nesterov
        if weight_decay is not UNSET:
            field_dict["weight_decay"] = weight_decay

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        def _parse_params(data: object) -> list[str] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                params_type_1 = cast(list[str], data)

                return params_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | str, data)

        params = _parse_params(d.pop("params"))

        type_ = OptimizerRequestType(d.pop("type"))

        def _parse_alpha(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        alpha = _parse_alpha(d.pop("alpha", UNSET))

        def _parse_amsgrad(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        amsgrad = _parse_amsgrad(d.pop("amsgrad", UNSET))

        def _parse_betas(data: object) -> list[float] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                betas_type_0 = []
                _betas_type_0 = data
                for betas_type_0_item_data in _betas_type_0:

                    def _parse_betas_type_0_item(data: object) -> float:
                        return cast(float, data)

                    betas_type_0_item = _parse_betas_type_0_item(betas_type_0_item_data)

                    betas_type_0.append(betas_type_0_item)

                return betas_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float] | None | Unset, data)

        betas = _parse_betas(d.pop("betas", UNSET))

        def _parse_centered(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        centered = _parse_centered(d.pop("centered", UNSET))

        def _parse_dampening(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        dampening = _parse_dampening(d.pop("dampening", UNSET))

        def _parse_eps(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        eps = _parse_eps(d.pop("eps", UNSET))

        def _parse_initial_accumulator_value(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        initial_accumulator_value = _parse_initial_accumulator_value(d.pop("initial_accumulator_value", UNSET))

        def _parse_lr(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        lr = _parse_lr(d.pop("lr", UNSET))

        def _parse_lr_decay(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        lr_decay = _parse_lr_decay(d.pop("lr_decay", UNSET))

        def _parse_maximize(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        maximize = _parse_maximize(d.pop("maximize", UNSET))

        def _parse_momentum(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        momentum = _parse_momentum(d.pop("momentum", UNSET))

        def _parse_nesterov(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        nesterov = _parse_nesterov(d.pop("nesterov", UNSET))

        def _parse_weight_decay(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        weight_decay = _parse_weight_decay(d.pop("weight_decay", UNSET))

        optimizer_request = cls(
            name=name,
            params=params,
            type_=type_,
            alpha=alpha,
            amsgrad=amsgrad,
            betas=betas,
            centered=centered,
            dampening=dampening,
            eps=eps,
            initial_accumulator_value=initial_accumulator_value,
            lr=lr,
            lr_decay=lr_decay,
            maximize=maximize,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )

        return optimizer_request
