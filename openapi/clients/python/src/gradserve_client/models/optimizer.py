from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.optimizer_type import OptimizerType

if TYPE_CHECKING:
    from ..models.optimizer_hyperparameters import OptimizerHyperparameters


T = TypeVar("T", bound="Optimizer")


@_attrs_define
class Optimizer:
    """An optimizer of the session: every hyperparameter (defaults included) and how many steps it took.

    Attributes:
        hyperparameters (OptimizerHyperparameters):
        name (str):
        params (list[str]):
        steps (int):
        type_ (OptimizerType):
    """

    hyperparameters: OptimizerHyperparameters
    name: str
    params: list[str]
    steps: int
    type_: OptimizerType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hyperparameters = self.hyperparameters.to_dict()

        name = self.name

        params = self.params

        steps = self.steps

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hyperparameters": hyperparameters,
                "name": name,
                "params": params,
                "steps": steps,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.optimizer_hyperparameters import OptimizerHyperparameters  # noqa: PLC0415

        d = dict(src_dict)
        hyperparameters = OptimizerHyperparameters.from_dict(d.pop("hyperparameters"))

        name = d.pop("name")

        params = cast(list[str], d.pop("params"))

        steps = d.pop("steps")

        type_ = OptimizerType(d.pop("type"))

        optimizer = cls(
            hyperparameters=hyperparameters,
            name=name,
            params=params,
            steps=steps,
            type_=type_,
        )

        optimizer.additional_properties = d
        return optimizer

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
