from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.jvp_response_jvp import JvpResponseJvp


T = TypeVar("T", bound="JvpResponse")


@_attrs_define
class JvpResponse:
    """jvp[output] is J·v, of the output's shape.

    Attributes:
        jvp (JvpResponseJvp):
    """

    jvp: JvpResponseJvp
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        jvp = self.jvp.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "jvp": jvp,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.jvp_response_jvp import JvpResponseJvp  # noqa: PLC0415

        d = dict(src_dict)
        jvp = JvpResponseJvp.from_dict(d.pop("jvp"))

        jvp_response = cls(
            jvp=jvp,
        )

        jvp_response.additional_properties = d
        return jvp_response

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
