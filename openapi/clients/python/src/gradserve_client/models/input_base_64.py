from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.input_base_64_dtype import InputBase64Dtype
from ..types import UNSET, Unset

T = TypeVar("T", bound="InputBase64")


@_attrs_define
class InputBase64:
    """An input given as base64 of its little-endian, C-order bytes; the length must match shape × the dtype's item size

    Attributes:
        b64 (str):
        shape (list[int]): dimensions, row-major
        dtype (InputBase64Dtype | Unset): float32 unless given (bool when every item is a JSON boolean)
        requires_grad (bool | Unset): record operations on this leaf for backward (floating dtypes only) Default: False.
    """

    b64: str
    shape: list[int]
    dtype: InputBase64Dtype | Unset = UNSET
    requires_grad: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        b64 = self.b64

        shape = self.shape

        dtype: str | Unset = UNSET
        if not isinstance(self.dtype, Unset):
            dtype = self.dtype.value

        requires_grad = self.requires_grad

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "b64": b64,
                "shape": shape,
            }
        )
        if dtype is not UNSET:
            field_dict["dtype"] = dtype
        if requires_grad is not UNSET:
            field_dict["requires_grad"] = requires_grad

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        b64 = d.pop("b64")

        shape = cast(list[int], d.pop("shape"))

        _dtype = d.pop("dtype", UNSET)
        dtype: InputBase64Dtype | Unset
        if isinstance(_dtype, Unset):
            dtype = UNSET
        else:
            dtype = InputBase64Dtype(_dtype)

        requires_grad = d.pop("requires_grad", UNSET)

        input_base_64 = cls(
            b64=b64,
            shape=shape,
            dtype=dtype,
            requires_grad=requires_grad,
        )

        return input_base_64
