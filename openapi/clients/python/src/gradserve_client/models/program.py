from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.program_encoding import ProgramEncoding
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.backward_call import BackwardCall
    from ..models.grad_call import GradCall
    from ..models.hessian_call import HessianCall
    from ..models.hvp_call import HvpCall
    from ..models.jacobian_call import JacobianCall
    from ..models.jvp_call import JvpCall
    from ..models.op_call import OpCall
    from ..models.program_inputs import ProgramInputs


T = TypeVar("T", bound="Program")


@_attrs_define
class Program:
    """Inputs, ops and backward calls, run in that order, all or nothing.

    Attributes:
        backward (list[BackwardCall] | Unset):
        derivatives (list[GradCall | HessianCall | HvpCall | JacobianCall | JvpCall] | Unset): derivative calls, run in
            order after the backward calls; the response holds their answers in order
        encoding (ProgramEncoding | Unset): how `data` and `grad` are returned: nested lists, or base64 of the little-
            endian bytes Default: ProgramEncoding.JSON.
        inputs (ProgramInputs | Unset): leaves to bind (rebinding an existing name makes a new leaf)
        ops (list[OpCall] | Unset):
        return_ (list[str] | None | Unset): names to return (default: every name bound by this request, plus every leaf
            that has a grad)
        step (list[str] | Unset): optimizers of the session to step, in order, after the backward calls (one request is
            a training step)
        zero_grad (bool | Unset): first of all, set every grad in the session to null Default: False.
    """

    backward: list[BackwardCall] | Unset = UNSET
    derivatives: list[GradCall | HessianCall | HvpCall | JacobianCall | JvpCall] | Unset = UNSET
    encoding: ProgramEncoding | Unset = ProgramEncoding.JSON
    inputs: ProgramInputs | Unset = UNSET
    ops: list[OpCall] | Unset = UNSET
    return_: list[str] | None | Unset = UNSET
    step: list[str] | Unset = UNSET
    zero_grad: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        from ..models.grad_call import GradCall  # noqa: PLC0415
        from ..models.hvp_call import HvpCall  # noqa: PLC0415
        from ..models.jacobian_call import JacobianCall  # noqa: PLC0415
        from ..models.jvp_call import JvpCall  # noqa: PLC0415

        backward: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.backward, Unset):
            backward = []
            for backward_item_data in self.backward:
                backward_item = backward_item_data.to_dict()
                backward.append(backward_item)

        derivatives: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.derivatives, Unset):
            derivatives = []
            for derivatives_item_data in self.derivatives:
                derivatives_item: dict[str, Any]
                if isinstance(derivatives_item_data, GradCall):
                    derivatives_item = derivatives_item_data.to_dict()
                elif isinstance(derivatives_item_data, JacobianCall):
                    derivatives_item = derivatives_item_data.to_dict()
                elif isinstance(derivatives_item_data, JvpCall):
                    derivatives_item = derivatives_item_data.to_dict()
                elif isinstance(derivatives_item_data, HvpCall):
                    derivatives_item = derivatives_item_data.to_dict()
                else:
                    derivatives_item = derivatives_item_data.to_dict()

                derivatives.append(derivatives_item)

        encoding: str | Unset = UNSET
        if not isinstance(self.encoding, Unset):
            encoding = self.encoding.value

        inputs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.inputs, Unset):
            inputs = self.inputs.to_dict()

        ops: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.ops, Unset):
            ops = []
            for ops_item_data in self.ops:
                ops_item = ops_item_data.to_dict()
                ops.append(ops_item)

        return_: list[str] | None | Unset
        if isinstance(self.return_, Unset):
            return_ = UNSET
        elif isinstance(self.return_, list):
            return_ = self.return_

        else:
            return_ = self.return_

        step: list[str] | Unset = UNSET
        if not isinstance(self.step, Unset):
            step = self.step

        zero_grad = self.zero_grad

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if backward is not UNSET:
            field_dict["backward"] = backward
        if derivatives is not UNSET:
            field_dict["derivatives"] = derivatives
        if encoding is not UNSET:
            field_dict["encoding"] = encoding
        if inputs is not UNSET:
            field_dict["inputs"] = inputs
        if ops is not UNSET:
            field_dict["ops"] = ops
        if return_ is not UNSET:
            field_dict["return"] = return_
        if step is not UNSET:
            field_dict["step"] = step
        if zero_grad is not UNSET:
            field_dict["zero_grad"] = zero_grad

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.backward_call import BackwardCall  # noqa: PLC0415
        from ..models.grad_call import GradCall  # noqa: PLC0415
        from ..models.hessian_call import HessianCall  # noqa: PLC0415
        from ..models.hvp_call import HvpCall  # noqa: PLC0415
        from ..models.jacobian_call import JacobianCall  # noqa: PLC0415
        from ..models.jvp_call import JvpCall  # noqa: PLC0415
        from ..models.op_call import OpCall  # noqa: PLC0415
        from ..models.program_inputs import ProgramInputs  # noqa: PLC0415

        d = dict(src_dict)
        _backward = d.pop("backward", UNSET)
        backward: list[BackwardCall] | Unset = UNSET
        if _backward is not UNSET:
            backward = []
            for backward_item_data in _backward:
                backward_item = BackwardCall.from_dict(backward_item_data)

                backward.append(backward_item)

        _derivatives = d.pop("derivatives", UNSET)
        derivatives: list[GradCall | HessianCall | HvpCall | JacobianCall | JvpCall] | Unset = UNSET
        if _derivatives is not UNSET:
            derivatives = []
            for derivatives_item_data in _derivatives:

                def _parse_derivatives_item(data: object) -> GradCall | HessianCall | HvpCall | JacobianCall | JvpCall:
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        derivatives_item_type_0 = GradCall.from_dict(data)

                        return derivatives_item_type_0
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        derivatives_item_type_1 = JacobianCall.from_dict(data)

                        return derivatives_item_type_1
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        derivatives_item_type_2 = JvpCall.from_dict(data)

                        return derivatives_item_type_2
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        derivatives_item_type_3 = HvpCall.from_dict(data)

                        return derivatives_item_type_3
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    if not isinstance(data, dict):
                        raise TypeError()
                    derivatives_item_type_4 = HessianCall.from_dict(data)

                    return derivatives_item_type_4

                derivatives_item = _parse_derivatives_item(derivatives_item_data)

                derivatives.append(derivatives_item)

        _encoding = d.pop("encoding", UNSET)
        encoding: ProgramEncoding | Unset
        if isinstance(_encoding, Unset):
            encoding = UNSET
        else:
            encoding = ProgramEncoding(_encoding)

        _inputs = d.pop("inputs", UNSET)
        inputs: ProgramInputs | Unset
        if isinstance(_inputs, Unset):
            inputs = UNSET
        else:
            inputs = ProgramInputs.from_dict(_inputs)

        _ops = d.pop("ops", UNSET)
        ops: list[OpCall] | Unset = UNSET
        if _ops is not UNSET:
            ops = []
            for ops_item_data in _ops:
                ops_item = OpCall.from_dict(ops_item_data)

                ops.append(ops_item)

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

        step = cast(list[str], d.pop("step", UNSET))

        zero_grad = d.pop("zero_grad", UNSET)

        program = cls(
            backward=backward,
            derivatives=derivatives,
            encoding=encoding,
            inputs=inputs,
            ops=ops,
            return_=return_,
            step=step,
            zero_grad=zero_grad,
        )

        return program
