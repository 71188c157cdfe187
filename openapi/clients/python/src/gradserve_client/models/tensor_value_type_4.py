from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TensorValueType4")


@_attrs_define
class TensorValueType4:
    """
    Attributes:
        b64 (str):
    """

    b64: str

    def to_dict(self) -> dict[str, Any]:
        b64 = self.b64

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "b64": b64,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        b64 = d.pop("b64")

        tensor_value_type_4 = cls(
            b64=b64,
        )

        return tensor_value_type_4
