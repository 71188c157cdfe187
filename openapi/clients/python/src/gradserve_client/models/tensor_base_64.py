from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.tensor_base_64_dtype import TensorBase64Dtype
from ..types import UNSET, Unset

T = TypeVar("T", bound="TensorBase64")


@_attrs_define
class TensorBase64:
    """A tensor given as base64 of its little-endian, C-order bytes; the length must match shape × the dtype's item size

    Attributes:
        b64 (str):
        shape (list[int]): dimensions, row-major
        dtype (TensorBase64Dtype | Unset): float32 unless given (bool when every item is a JSON boolean)
    """

    b64: str
    shape: list[int]
    dtype: TensorBase64Dtype | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        b64 = self.b64

        shape = self.shape

        dtype: str | Unset = UNSET
        if not isinstance(self.dtype, Unset):
            dtype = self.dtype.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "b64": b64,
                "shape": shape,
            }
        )
        if dtype is not UNSET:
            field_dict["dtype"] = dtype

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        b64 = d.pop("b64")

        shape = cast(list[int], d.pop("shape"))

        _dtype = d.pop("dtype", UNSET)
        dtype: TensorBase64Dtype | Unset
        if isinstance(_dtype, Unset):
            dtype = UNSET
        else:
            dtype = TensorBase64Dtype(_dtype)

        tensor_base_64 = cls(
            b64=b64,
            shape=shape,
            dtype=dtype,
        )

        return tensor_base_64
