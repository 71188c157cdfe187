from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.grad_call_kind import GradCallKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tensor_base_64 import TensorBase64
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="GradCall")


@_attrs_define
class GradCall:
    """
    Attributes:
        inputs (list[str] | str):
        kind (GradCallKind):
        outputs (list[str] | str):
        allow_unused (bool | Unset): leave out inputs the outputs do not depend on instead of failing Default: False.
        bind (list[str] | None | str | Unset): bind the grads in the session under these names, one per input
        create_graph (bool | Unset): record the backward pass, making the grads differentiable Default: False.
        grad_outputs (bool | float | list[Any] | list[bool | float | list[Any] | None | str | TensorBase64 | TensorData]
            | None | str | TensorBase64 | TensorData | Unset): one tensor or variable name per output (null for the default
            of ones on a single-element output): a list when `outputs` is a list, a single one when it is a string; with
            is_grads_batched each has a leading batch axis
        is_grads_batched (bool | Unset): each grad_outputs item has a leading batch axis B, and each grad comes back
            with it: B vector-Jacobian products in one batched backward pass Default: False.
        retain_graph (bool | None | Unset): default: create_graph
    """

    inputs: list[str] | str
    kind: GradCallKind
    outputs: list[str] | str
    allow_unused: bool | Unset = False
    bind: list[str] | None | str | Unset = UNSET
    create_graph: bool | Unset = False
    grad_outputs: (
        bool
        | float
        | list[Any]
        | list[bool | float | list[Any] | None | str | TensorBase64 | TensorData]
        | None
        | str
        | TensorBase64
        | TensorData
        | Unset
    ) = UNSET
    is_grads_batched: bool | Unset = False
    retain_graph: bool | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

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

        allow_unused = self.allow_unused

        bind: list[str] | None | str | Unset
        if isinstance(self.bind, Unset):
            bind = UNSET
        elif isinstance(self.bind, list):
            bind = self.bind

        else:
            bind = self.bind

        create_graph = self.create_graph

        grad_outputs: (
            bool
            | dict[str, Any]
            | float
            | list[Any]
            | list[bool | dict[str, Any] | float | list[Any] | None | str]
            | None
            | str
            | Unset
        )
        if isinstance(self.grad_outputs, Unset):
            grad_outputs = UNSET
        elif isinstance(self.grad_outputs, list):
            grad_outputs = []
            for grad_outputs_type_0_item_data in self.grad_outputs:
                grad_outputs_type_0_item: bool | dict[str, Any] | float | list[Any] | None | str
                if isinstance(grad_outputs_type_0_item_data, list):
                    grad_outputs_type_0_item = grad_outputs_type_0_item_data

                elif isinstance(grad_outputs_type_0_item_data, TensorData):
                    grad_outputs_type_0_item = grad_outputs_type_0_item_data.to_dict()
                elif isinstance(grad_outputs_type_0_item_data, TensorBase64):
                    grad_outputs_type_0_item = grad_outputs_type_0_item_data.to_dict()
                else:
                    grad_outputs_type_0_item = grad_outputs_type_0_item_data
                grad_outputs.append(grad_outputs_type_0_item)

        elif isinstance(self.grad_outputs, list):
            grad_outputs = self.grad_outputs

        elif isinstance(self.grad_outputs, TensorData):
            grad_outputs = self.grad_outputs.to_dict()
        elif isinstance(self.grad_outputs, TensorBase64):
            grad_outputs = self.grad_outputs.to_dict()
        else:
            grad_outputs = self.grad_outputs

        is_grads_batched = self.is_grads_batched

        retain_graph: bool | None | Unset
        if isinstance(self.retain_graph, Unset):
            retain_graph = UNSET
        else:
            retain_graph = self.retain_graph

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "inputs": inputs,
                "kind": kind,
                "outputs": outputs,
            }
        )
        if allow_unused is not UNSET:
            field_dict["allow_unused"] = allow_unused
        if bind is not UNSET:
            field_dict["bind"] = bind
        if create_graph is not UNSET:
            field_dict["create_graph"] = create_graph
        if grad_outputs is not UNSET:
            field_dict["grad_outputs"] = grad_outputs
        if is_grads_batched is not UNSET:
            field_dict["is_grads_batched"] = is_grads_batched
        if retain_graph is not UNSET:
            field_dict["retain_graph"] = retain_graph

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

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

        kind = GradCallKind(d.pop("kind"))

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

        allow_unused = d.pop("allow_unused", UNSET)

        def _parse_bind(data: object) -> list[str] | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                bind_type_1 = cast(list[str], data)

                return bind_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | str | Unset, data)

        bind = _parse_bind(d.pop("bind", UNSET))

        create_graph = d.pop("create_graph", UNSET)

        def _parse_grad_outputs(
            data: object,
        ) -> (
            bool
            | float
            | list[Any]
            | list[bool | float | list[Any] | None | str | TensorBase64 | TensorData]
            | None
            | str
            | TensorBase64
            | TensorData
            | Unset
        ):
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                grad_outputs_type_0 = []
                _grad_outputs_type_0 = data
                for grad_outputs_type_0_item_data in _grad_outputs_type_0:

                    def _parse_grad_outputs_type_0_item(
                        data: object,
                    ) -> bool | float | list[Any] | None | str | TensorBase64 | TensorData:
                        if data is None:
                            return data
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
                        return cast(bool | float | list[Any] | None | str | TensorBase64 | TensorData, data)

                    grad_outputs_type_0_item = _parse_grad_outputs_type_0_item(grad_outputs_type_0_item_data)

                    grad_outputs_type_0.append(grad_outputs_type_0_item)

                return grad_outputs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
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
            return cast(
                bool
                | float
                | list[Any]
                | list[bool | float | list[Any] | None | str | TensorBase64 | TensorData]
                | None
                | str
                | TensorBase64
                | TensorData
                | Unset,
                data,
            )

        grad_outputs = _parse_grad_outputs(d.pop("grad_outputs", UNSET))

        is_grads_batched = d.pop("is_grads_batched", UNSET)

        def _parse_retain_graph(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        retain_graph = _parse_retain_graph(d.pop("retain_graph", UNSET))

        grad_call = cls(
            inputs=inputs,
            kind=kind,
            outputs=outputs,
            allow_unused=allow_unused,
            bind=bind,
            create_graph=create_graph,
            grad_outputs=grad_outputs,
            is_grads_batched=is_grads_batched,
            retain_graph=retain_graph,
        )

        return grad_call
