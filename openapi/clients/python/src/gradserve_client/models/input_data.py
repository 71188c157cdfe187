from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.input_data_dtype import InputDataDtype
from ..models.non_finite import NonFinite
from ..types import UNSET, Unset

T = TypeVar("T", bound="InputData")


@_attrs_define
class InputData:
    """An input given as data (a number or nested list) with an optional dtype; `shape` may reshape flat data

    Attributes:
        data (bool | float | list[Any] | NonFinite):
        dtype (InputDataDtype | Unset): float32 unless given (bool when every item is a JSON boolean)
        requires_grad (bool | Unset): record operations on this leaf for backward (floating dtypes only) Default: False.
        shape (list[int] | Unset): dimensions, row-major
    """

    data: bool | float | list[Any] | NonFinite
    dtype: InputDataDtype | Unset = UNSET
    requires_grad: bool | Unset = False
    shape: list[int] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        data: bool | float | list[Any] | str
        if isinstance(self.data, NonFinite):
            data = self.data.value
        elif isinstance(self.data, list):
            data = self.data

        else:
            data = self.data

        dtype: str | Unset = UNSET
        if not isinstance(self.dtype, Unset):
            dtype = self.dtype.value

        requires_grad = self.requires_grad

        shape: list[int] | Unset = UNSET
        if not isinstance(self.shape, Unset):
            shape = self.shape

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "data": data,
            }
        )
        if dtype is not UNSET:
            field_dict["dtype"] = dtype
        if requires_grad is not UNSET:
            field_dict["requires_grad"] = requires_grad
        if shape is not UNSET:
            field_dict["shape"] = shape

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_data(data: object) -> bool | float | list[Any] | NonFinite:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                data_type_2 = NonFinite(data)

                return data_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, list):
                    raise TypeError()
                data_type_3 = cast(list[Any], data)

                return data_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(bool | float | list[Any] | NonFinite, data)

        data = _parse_data(d.pop("data"))

        _dtype = d.pop("dtype", UNSET)
        dtype: InputDataDtype | Unset
        if isinstance(_dtype, Unset):
            dtype = UNSET
        else:
            dtype = InputDataDtype(_dtype)

        requires_grad = d.pop("requires_grad", UNSET)

        shape = cast(list[int], d.pop("shape", UNSET))

        input_data = cls(
            data=data,
            dtype=dtype,
            requires_grad=requires_grad,
            shape=shape,
        )

        return input_data
