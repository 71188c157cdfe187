from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.non_finite import NonFinite
from ..models.variable_dtype import VariableDtype

if TYPE_CHECKING:
    from ..models.tensor_value_type_4 import TensorValueType4


T = TypeVar("T", bound="Variable")


@_attrs_define
class Variable:
    """A variable: its values, its grad (null until a backward reaches it) and its place in the graph.

    Attributes:
        data (bool | float | list[Any] | NonFinite | TensorValueType4): A tensor's values in a response: a number (shape
            []) or nested list for the json encoding, {b64} for the base64 encoding
        dtype (VariableDtype):
        grad (bool | float | list[Any] | None | NonFinite | TensorValueType4):
        grad_fn (None | str):
        is_leaf (bool):
        requires_grad (bool):
        shape (list[int]):
    """

    data: bool | float | list[Any] | NonFinite | TensorValueType4
    dtype: VariableDtype
    grad: bool | float | list[Any] | None | NonFinite | TensorValueType4
    grad_fn: None | str
    is_leaf: bool
    requires_grad: bool
    shape: list[int]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.tensor_value_type_4 import TensorValueType4  # noqa: PLC0415

        data: bool | dict[str, Any] | float | list[Any] | str
        if isinstance(self.data, NonFinite):
            data = self.data.value
        elif isinstance(self.data, list):
            data = self.data

        elif isinstance(self.data, TensorValueType4):
            data = self.data.to_dict()
        else:
            data = self.data

        dtype = self.dtype.value

        grad: bool | dict[str, Any] | float | list[Any] | None | str
        if isinstance(self.grad, NonFinite):
            grad = self.grad.value
        elif isinstance(self.grad, list):
            grad = self.grad

        elif isinstance(self.grad, TensorValueType4):
            grad = self.grad.to_dict()
        else:
            grad = self.grad

        grad_fn: None | str
        grad_fn = self.grad_fn

        is_leaf = self.is_leaf

        requires_grad = self.requires_grad

        shape = self.shape

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "dtype": dtype,
                "grad": grad,
                "grad_fn": grad_fn,
                "is_leaf": is_leaf,
                "requires_grad": requires_grad,
                "shape": shape,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tensor_value_type_4 import TensorValueType4  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_data(data: object) -> bool | float | list[Any] | NonFinite | TensorValueType4:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_tensor_value_type_2 = NonFinite(data)

                return componentsschemas_tensor_value_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_tensor_value_type_3 = cast(list[Any], data)

                return componentsschemas_tensor_value_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_tensor_value_type_4 = TensorValueType4.from_dict(data)

                return componentsschemas_tensor_value_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(bool | float | list[Any] | NonFinite | TensorValueType4, data)

        data = _parse_data(d.pop("data"))

        dtype = VariableDtype(d.pop("dtype"))

        def _parse_grad(data: object) -> bool | float | list[Any] | None | NonFinite | TensorValueType4:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_tensor_value_type_2 = NonFinite(data)

                return componentsschemas_tensor_value_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_tensor_value_type_3 = cast(list[Any], data)

                return componentsschemas_tensor_value_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_tensor_value_type_4 = TensorValueType4.from_dict(data)

                return componentsschemas_tensor_value_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(bool | float | list[Any] | None | NonFinite | TensorValueType4, data)

        grad = _parse_grad(d.pop("grad"))

        def _parse_grad_fn(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        grad_fn = _parse_grad_fn(d.pop("grad_fn"))

        is_leaf = d.pop("is_leaf")

        requires_grad = d.pop("requires_grad")

        shape = cast(list[int], d.pop("shape"))

        variable = cls(
            data=data,
            dtype=dtype,
            grad=grad,
            grad_fn=grad_fn,
            is_leaf=is_leaf,
            requires_grad=requires_grad,
            shape=shape,
        )

        variable.additional_properties = d
        return variable

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
