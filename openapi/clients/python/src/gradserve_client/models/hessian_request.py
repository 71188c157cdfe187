from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.hessian_request_encoding import HessianRequestEncoding
from ..types import UNSET, Unset

T = TypeVar("T", bound="HessianRequest")


@_attrs_define
class HessianRequest:
    """
    Attributes:
        inputs (list[str] | str):
        output (str): a variable name (an identifier)
        chunk_size (int | None | Unset): rows of the identity per batched backward pass (default: all at once, or fewer
            where a batched gradient would pass the per-tensor limit); the answer is the same, memory is bounded
        encoding (HessianRequestEncoding | Unset): how `data` and `grad` are returned: nested lists, or base64 of the
            little-endian bytes Default: HessianRequestEncoding.JSON.
    """

    inputs: list[str] | str
    output: str
    chunk_size: int | None | Unset = UNSET
    encoding: HessianRequestEncoding | Unset = HessianRequestEncoding.JSON

    def to_dict(self) -> dict[str, Any]:
        inputs: list[str] | str
        if isinstance(self.inputs, list):
            inputs = self.inputs

        else:
            inputs = self.inputs

        output = self.output

        chunk_size: int | None | Unset
        if isinstance(self.chunk_size, Unset):
            chunk_size = UNSET
        else:
            chunk_size = self.chunk_size

        encoding: str | Unset = UNSET
        if not isinstance(self.encoding, Unset):
            encoding = self.encoding.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "output": output,
            }
        )
        if chunk_size is not UNSET:
            field_dict["chunk_size"] = chunk_size
        if encoding is not UNSET:
            field_dict["encoding"] = encoding

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
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

        def _parse_chunk_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        chunk_size = _parse_chunk_size(d.pop("chunk_size", UNSET))

        _encoding = d.pop("encoding", UNSET)
        encoding: HessianRequestEncoding | Unset
        if isinstance(_encoding, Unset):
            encoding = UNSET
        else:
            encoding = HessianRequestEncoding(_encoding)

        hessian_request = cls(
            inputs=inputs,
            output=output,
            chunk_size=chunk_size,
            encoding=encoding,
        )

        return hessian_request
