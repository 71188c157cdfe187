from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.step_request_encoding import StepRequestEncoding
from ..types import UNSET, Unset

T = TypeVar("T", bound="StepRequest")


@_attrs_define
class StepRequest:
    """
    Attributes:
        encoding (StepRequestEncoding | Unset): how `data` and `grad` are returned: nested lists, or base64 of the
            little-endian bytes Default: StepRequestEncoding.JSON.
        return_ (list[str] | None | Unset): names to return (default: the params)
    """

    encoding: StepRequestEncoding | Unset = StepRequestEncoding.JSON
    return_: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        encoding: str | Unset = UNSET
        if not isinstance(self.encoding, Unset):
            encoding = self.encoding.value

        return_: list[str] | None | Unset
        if isinstance(self.return_, Unset):
            return_ = UNSET
        elif isinstance(self.return_, list):
            return_ = self.return_

        else:
            return_ = self.return_

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if encoding is not UNSET:
            field_dict["encoding"] = encoding
        if return_ is not UNSET:
            field_dict["return"] = return_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _encoding = d.pop("encoding", UNSET)
        encoding: StepRequestEncoding | Unset
        if isinstance(_encoding, Unset):
            encoding = UNSET
        else:
            encoding = StepRequestEncoding(_encoding)

        def _parse_return_(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                return_type_0 = cast(list[str], data)

                return return_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        return_ = _parse_return_(d.pop("return", UNSET))

        step_request = cls(
            encoding=encoding,
            return_=return_,
        )

        return step_request
