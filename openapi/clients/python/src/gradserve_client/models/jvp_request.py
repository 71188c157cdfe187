from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.jvp_request_encoding import JvpRequestEncoding
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.jvp_request_tangents import JvpRequestTangents


T = TypeVar("T", bound="JvpRequest")


@_attrs_define
class JvpRequest:
    """
    Attributes:
        inputs (list[str] | str):
        outputs (list[str] | str):
        tangents (JvpRequestTangents): one tensor (of the input's shape) or variable name per input, by input name
        encoding (JvpRequestEncoding | Unset): how `data` and `grad` are returned: nested lists, or base64 of the
            little-endian bytes Default: JvpRequestEncoding.JSON.
    """

    inputs: list[str] | str
    outputs: list[str] | str
    tangents: JvpRequestTangents
    encoding: JvpRequestEncoding | Unset = JvpRequestEncoding.JSON

    def to_dict(self) -> dict[str, Any]:
        inputs: list[str] | str
        if isinstance(self.inputs, list):
            inputs = self.inputs

        else:
            inputs = self.inputs

        outputs: list[str] | str
        if isinstance(self.outputs, list):
            outputs = self.outputs

        else:
            outputs = self.outputs

        tangents = self.tangents.to_dict()

        encoding: str | Unset = UNSET
        if not isinstance(self.encoding, Unset):
            encoding = self.encoding.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "outputs": outputs,
                "tangents": tangents,
            }
        )
        if encoding is not UNSET:
            field_dict["encoding"] = encoding

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.jvp_request_tangents import JvpRequestTangents  # noqa: PLC0415

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

        def _parse_outputs(data: object) -> list[str] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                outputs_type_1 = cast(list[str], data)

                return outputs_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | str, data)

        outputs = _parse_outputs(d.pop("outputs"))

        tangents = JvpRequestTangents.from_dict(d.pop("tangents"))

        _encoding = d.pop("encoding", UNSET)
        encoding: JvpRequestEncoding | Unset
        if isinstance(_encoding, Unset):
            encoding = UNSET
        else:
            encoding = JvpRequestEncoding(_encoding)

        jvp_request = cls(
            inputs=inputs,
            outputs=outputs,
            tangents=tangents,
            encoding=encoding,
        )

        return jvp_request
