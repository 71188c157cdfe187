from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.jvp_call_kind import JvpCallKind

if TYPE_CHECKING:
    from ..models.jvp_call_tangents import JvpCallTangents


T = TypeVar("T", bound="JvpCall")


@_attrs_define
class JvpCall:
    """
    Attributes:
        inputs (list[str] | str):
        kind (JvpCallKind):
        outputs (list[str] | str):
        tangents (JvpCallTangents): one tensor (of the input's shape) or variable name per input, by input name
    """

    inputs: list[str] | str
    kind: JvpCallKind
    outputs: list[str] | str
    tangents: JvpCallTangents

    def to_dict(self) -> dict[str, Any]:
        inputs: list[str] | str
        if isinstance(self.inputs, list):
            inputs = self.inputs

        else:
            inputs = self.inputs

        kind = self.kind.value

        outputs: list[str] | str
        if isinstance(self.outputs, list):
            outputs = self.outputs

        else:
            outputs = self.outputs

        tangents = self.tangents.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "kind": kind,
                "outputs": outputs,
                "tangents": tangents,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.jvp_call_tangents import JvpCallTangents  # noqa: PLC0415

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

        kind = JvpCallKind(d.pop("kind"))

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

        tangents = JvpCallTangents.from_dict(d.pop("tangents"))

        jvp_call = cls(
            inputs=inputs,
            kind=kind,
            outputs=outputs,
            tangents=tangents,
        )

        return jvp_call
