from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.hvp_call_kind import HvpCallKind

if TYPE_CHECKING:
    from ..models.hvp_call_v import HvpCallV


T = TypeVar("T", bound="HvpCall")


@_attrs_define
class HvpCall:
    """
    Attributes:
        inputs (list[str] | str):
        kind (HvpCallKind):
        output (str): a variable name (an identifier)
        v (HvpCallV): one tensor (of the input's shape) or variable name per input, by input name
    """

    inputs: list[str] | str
    kind: HvpCallKind
    output: str
    v: HvpCallV

    def to_dict(self) -> dict[str, Any]:
        inputs: list[str] | str
        if isinstance(self.inputs, list):
            inputs = self.inputs

        else:
            inputs = self.inputs

        kind = self.kind.value

        output = self.output

        v = self.v.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "kind": kind,
                "output": output,
                "v": v,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.hvp_call_v import HvpCallV  # noqa: PLC0415

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

        kind = HvpCallKind(d.pop("kind"))

        output = d.pop("output")

        v = HvpCallV.from_dict(d.pop("v"))

        hvp_call = cls(
            inputs=inputs,
            kind=kind,
            output=output,
            v=v,
        )

        return hvp_call
