from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.variables_response_variables import VariablesResponseVariables


T = TypeVar("T", bound="VariablesResponse")


@_attrs_define
class VariablesResponse:
    """
    Attributes:
        variables (VariablesResponseVariables):
    """

    variables: VariablesResponseVariables
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        variables = self.variables.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "variables": variables,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.variables_response_variables import VariablesResponseVariables  # noqa: PLC0415

        d = dict(src_dict)
        variables = VariablesResponseVariables.from_dict(d.pop("variables"))

        variables_response = cls(
            variables=variables,
        )

        variables_response.additional_properties = d
        return variables_response

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
