from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.grads_response_grads import GradsResponseGrads


T = TypeVar("T", bound="GradsResponse")


@_attrs_define
class GradsResponse:
    """Gradients by the bind name, else the input's name.

    Attributes:
        grads (GradsResponseGrads):
    """

    grads: GradsResponseGrads
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        grads = self.grads.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "grads": grads,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.grads_response_grads import GradsResponseGrads  # noqa: PLC0415

        d = dict(src_dict)
        grads = GradsResponseGrads.from_dict(d.pop("grads"))

        grads_response = cls(
            grads=grads,
        )

        grads_response.additional_properties = d
        return grads_response

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
