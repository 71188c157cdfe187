from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.hessian_call_kind import HessianCallKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="HessianCall")


@_attrs_define
class HessianCall:
    """
    Attributes:
        inputs (list[str] | str):
        kind (HessianCallKind):
        output (str): a variable name (an identifier)
        chunk_size (int | None | Unset): rows of the identity per batched backward pass (default: all at once, or fewer
            where a batched gradient would pass the per-tensor limit); the answer is the same, memory is bounded
    """

    inputs: list[str] | str
    kind: HessianCallKind
    output: str
    chunk_size: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        inputs: list[str] | str
        if isinstance(self.inputs, list):
            inputs = self.inputs

        else:
            inputs = self.inputs

        kind = self.kind.value

        output = self.output

        chunk_size: int | None | Unset
        if isinstance(self.chunk_size, Unset):
            chunk_size = UNSET
        else:
            chunk_size = self.chunk_size

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "kind": kind,
                "output": output,
            }
        )
        if chunk_size is not UNSET:
            field_dict["chunk_size"] = chunk_size

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

        kind = HessianCallKind(d.pop("kind"))

        output = d.pop("output")

        def _parse_chunk_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        chunk_size = _parse_chunk_size(d.pop("chunk_size", UNSET))

        hessian_call = cls(
            inputs=inputs,
            kind=kind,
            output=output,
            chunk_size=chunk_size,
        )

        return hessian_call
