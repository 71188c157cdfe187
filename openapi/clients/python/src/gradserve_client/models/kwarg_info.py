from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="KwargInfo")


@_attrs_define
class KwargInfo:
    """
    Attributes:
        aliases (list[str]): other spellings of the kwarg (PyTorch's: dim for axis, ...)
        name (str):
        required (bool):
        type_ (str):
        default (Any | Unset):
    """

    aliases: list[str]
    name: str
    required: bool
    type_: str
    default: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        aliases = self.aliases

        name = self.name

        required = self.required

        type_ = self.type_

        default = self.default

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "aliases": aliases,
                "name": name,
                "required": required,
                "type": type_,
            }
        )
        if default is not UNSET:
            field_dict["default"] = default

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        aliases = cast(list[str], d.pop("aliases"))

        name = d.pop("name")

        required = d.pop("required")

        type_ = d.pop("type")

        default = d.pop("default", UNSET)

        kwarg_info = cls(
            aliases=aliases,
            name=name,
            required=required,
            type_=type_,
            default=default,
        )

        kwarg_info.additional_properties = d
        return kwarg_info

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
