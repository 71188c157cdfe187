from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tensor_base_64 import TensorBase64
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="BackwardCall")


@_attrs_define
class BackwardCall:
    """A backward call: accumulate d output / d leaf into every leaf's grad.

    Attributes:
        output (str): a variable name (an identifier)
        create_graph (bool | Unset): record the backward pass, making the grads differentiable Default: False.
        gradient (bool | float | list[Any] | None | str | TensorBase64 | TensorData | Unset): the upstream gradient, of
            the output's shape (a tensor or a variable's name); may be left out only for a single-element output
        retain_graph (bool | None | Unset): keep the graph's saved buffers for another backward (default: create_graph)
    """

    output: str
    create_graph: bool | Unset = False
    gradient: bool | float | list[Any] | None | str | TensorBase64 | TensorData | Unset = UNSET
    retain_graph: bool | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        output = self.output

        create_graph = self.create_graph

        gradient: bool | dict[str, Any] | float | list[Any] | None | str | Unset
        if isinstance(self.gradient, Unset):
            gradient = UNSET
        elif isinstance(self.gradient, list):
            gradient = self.gradient

        elif isinstance(self.gradient, TensorData):
            gradient = self.gradient.to_dict()
        elif isinstance(self.gradient, TensorBase64):
            gradient = self.gradient.to_dict()
        else:
            gradient = self.gradient

        retain_graph: bool | None | Unset
        if isinstance(self.retain_graph, Unset):
            retain_graph = UNSET
        else:
            retain_graph = self.retain_graph

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "output": output,
            }
        )
        if create_graph is not UNSET:
            field_dict["create_graph"] = create_graph
        if gradient is not UNSET:
            field_dict["gradient"] = gradient
        if retain_graph is not UNSET:
            field_dict["retain_graph"] = retain_graph

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        d = dict(src_dict)
        output = d.pop("output")

        create_graph = d.pop("create_graph", UNSET)

        def _parse_gradient(data: object) -> bool | float | list[Any] | None | str | TensorBase64 | TensorData | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
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
            return cast(bool | float | list[Any] | None | str | TensorBase64 | TensorData | Unset, data)

        gradient = _parse_gradient(d.pop("gradient", UNSET))

        def _parse_retain_graph(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        retain_graph = _parse_retain_graph(d.pop("retain_graph", UNSET))

        backward_call = cls(
            output=output,
            create_graph=create_graph,
            gradient=gradient,
            retain_graph=retain_graph,
        )

        return backward_call
