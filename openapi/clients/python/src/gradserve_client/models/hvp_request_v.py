from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.tensor_base_64 import TensorBase64
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="HvpRequestV")


@_attrs_define
class HvpRequestV:
    """one tensor (of the input's shape) or variable name per input, by input name"""

    additional_properties: dict[str, bool | float | list[Any] | str | TensorBase64 | TensorData] = _attrs_field(
        init=False, factory=dict
    )

    def to_dict(self) -> dict[str, Any]:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            if isinstance(prop, list):
                field_dict[prop_name] = prop

            elif isinstance(prop, TensorData):
                field_dict[prop_name] = prop.to_dict()
            elif isinstance(prop, TensorBase64):
                field_dict[prop_name] = prop.to_dict()
            else:
                field_dict[prop_name] = prop

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        d = dict(src_dict)
        hvp_request_v = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():

            def _parse_additional_property(data: object) -> bool | float | list[Any] | str | TensorBase64 | TensorData:
                try:
                    if not isinstance(data, list):
                        raise TypeError()
                    componentsschemas_tensor_type_2 = cast(list[Any], data)

                    return componentsschemas_tensor_type_2
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_tensor_type_3 = TensorData.from_dict(data)

                    return componentsschemas_tensor_type_3
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_tensor_type_4 = TensorBase64.from_dict(data)

                    return componentsschemas_tensor_type_4
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                return cast(bool | float | list[Any] | str | TensorBase64 | TensorData, data)

            additional_property = _parse_additional_property(prop_dict)

            additional_properties[prop_name] = additional_property

        hvp_request_v.additional_properties = additional_properties
        return hvp_request_v

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> bool | float | list[Any] | str | TensorBase64 | TensorData:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: bool | float | list[Any] | str | TensorBase64 | TensorData) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
