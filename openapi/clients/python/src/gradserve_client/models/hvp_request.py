from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.hvp_request_encoding import HvpRequestEncoding
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.hvp_request_v import HvpRequestV


T = TypeVar("T", bound="HvpRequest")


@_attrs_define
class HvpRequest:
    """
    Attributes:
        inputs (list[str] | str):
        output (str): a variable name (an identifier)
        v (HvpRequestV): one tensor (of the input's shape) or variable name per input, by input name
        encoding (HvpRequestEncoding | Unset): how `data` and `grad` are returned: nested lists, or base64 of the
            little-endian bytes Default: HvpRequestEncoding.JSON.
    """

    inputs: list[str] | str
    output: str
    v: HvpRequestV
    encoding: HvpRequestEncoding | Unset = HvpRequestEncoding.JSON

    def to_dict(self) -> dict[str, Any]:
        inputs: list[str] | str
        if isinstance(self.inputs, list):
            inputs = self.inputs

        else:
            inputs = self.inputs

        output = self.output

        v = self.v.to_dict()

        encoding: str | Unset = UNSET
        if not isinstance(self.encoding, Unset):
            encoding = self.encoding.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "output": output,
                "v": v,
            }
        )
        if encoding is not UNSET:
            field_dict["encoding"] = encoding

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.hvp_request_v import HvpRequestV  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_inputs(data: object) -> list[str] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                inputs_type_1 = cast(list[str], data)

                return inputs_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | str, data)

        inputs = _parse_inputs(d.pop("inputs"))

        output = d.pop("output")

        v = HvpRequestV.from_dict(d.pop("v"))

        _encoding = d.pop("encoding", UNSET)
        encoding: HvpRequestEncoding | Unset
        if isinstance(_encoding, Unset):
            encoding = UNSET
        else:
            encoding = HvpRequestEncoding(_encoding)

        hvp_request = cls(
            inputs=inputs,
            output=output,
            v=v,
            encoding=encoding,
        )

        return hvp_request
