from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.input_base_64 import InputBase64
    from ..models.input_data import InputData


T = TypeVar("T", bound="ProgramInputs")


@_attrs_define
class ProgramInputs:
    """leaves to bind (rebinding an existing name makes a new leaf)"""

    additional_properties: dict[str, bool | float | InputBase64 | InputData | list[Any]] = _attrs_field(
        init=False, factory=dict
    )

    def to_dict(self) -> dict[str, Any]:
        from ..models.input_base_64 import InputBase64  # noqa: PLC0415
        from ..models.input_data import InputData  # noqa: PLC0415

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            if isinstance(prop, list):
                field_dict[prop_name] = prop

            elif isinstance(prop, InputData):
                field_dict[prop_name] = prop.to_dict()
            elif isinstance(prop, InputBase64):
                field_dict[prop_name] = prop.to_dict()
            else:
                field_dict[prop_name] = prop

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.input_base_64 import InputBase64  # noqa: PLC0415
        from ..models.input_data import InputData  # noqa: PLC0415

        d = dict(src_dict)
        program_inputs = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():

            def _parse_additional_property(data: object) -> bool | float | InputBase64 | InputData | list[Any]:
                try:
                    if not isinstance(data, list):
                        raise TypeError()
                    componentsschemas_input_type_2 = cast(list[Any], data)

                    return componentsschemas_input_type_2
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_input_type_3 = InputData.from_dict(data)

                    return componentsschemas_input_type_3
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_input_type_4 = InputBase64.from_dict(data)

                    return componentsschemas_input_type_4
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                return cast(bool | float | InputBase64 | InputData | list[Any], data)

            additional_property = _parse_additional_property(prop_dict)

            additional_properties[prop_name] = additional_property

        program_inputs.additional_properties = additional_properties
        return program_inputs

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> bool | float | InputBase64 | InputData | list[Any]:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: bool | float | InputBase64 | InputData | list[Any]) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
