from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.variable_info_dtype import VariableInfoDtype

T = TypeVar("T", bound="VariableInfo")


@_attrs_define
class VariableInfo:
    """A variable's metadata, without its values.

    Attributes:
        dtype (VariableInfoDtype):
        grad_fn (None | str): the node that made it, as PyTorch names it (MulBackward0); null for leaves
        has_grad (bool):
        is_leaf (bool):
        requires_grad (bool):
        shape (list[int]):
    """

    dtype: VariableInfoDtype
    grad_fn: None | str
    has_grad: bool
    is_leaf: bool
    requires_grad: bool
    shape: list[int]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dtype = self.dtype.value

        grad_fn: None | str
        grad_fn = self.grad_fn

        has_grad = self.has_grad

        is_leaf = self.is_leaf

        requires_grad = self.requires_grad

        shape = self.shape

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dtype": dtype,
                "grad_fn": grad_fn,
                "has_grad": has_grad,
                "is_leaf": is_leaf,
                "requires_grad": requires_grad,
                "shape": shape,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        dtype = VariableInfoDtype(d.pop("dtype"))

        def _parse_grad_fn(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        grad_fn = _parse_grad_fn(d.pop("grad_fn"))

        has_grad = d.pop("has_grad")

        is_leaf = d.pop("is_leaf")

        requires_grad = d.pop("requires_grad")

        shape = cast(list[int], d.pop("shape"))

        variable_info = cls(
            dtype=dtype,
            grad_fn=grad_fn,
            has_grad=has_grad,
            is_leaf=is_leaf,
            requires_grad=requires_grad,
            shape=shape,
        )

        variable_info.additional_properties = d
        return variable_info

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
