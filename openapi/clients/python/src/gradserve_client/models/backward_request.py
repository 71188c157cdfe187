from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.backward_request_encoding import BackwardRequestEncoding
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tensor_base_64 import TensorBase64
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="BackwardRequest")


@_attrs_define
class BackwardRequest:
    """
    Attributes:
        output (str): a variable name (an identifier)
        create_graph (bool | Unset): record the backward pass, making the grads differentiable Default: False.
        encoding (BackwardRequestEncoding | Unset): how `data` and `grad` are returned: nested lists, or base64 of the
            little-endian bytes Default: BackwardRequestEncoding.JSON.
        gradient (bool | float | list[Any] | None | str | TensorBase64 | TensorData | Unset): the upstream gradient, of
            the output's shape (a tensor or a variable's name); may be left out only for a single-element output
        retain_graph (bool | None | Unset): keep the graph's saved buffers for another backward (default: create_graph)
        return_ (list[str] | None | Unset): names to return (default: every variable that has a grad)
    """

    output: str
    create_graph: bool | Unset = False
    encoding: BackwardRequestEncoding | Unset = BackwardRequestEncoding.JSON
    gradient: bool | float | list[Any] | None | str | TensorBase64 | TensorData | Unset = UNSET
    retain_graph: bool | None | Unset = UNSET
    return_: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        output = self.output

        create_graph = self.create_graph

        encoding: str | Unset = UNSET
        if not isinstance(self.encoding, Unset):
            encoding = self.encoding.value

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

        return_: list[str] | None | Unset
        if isinstance(self.return_, Unset):
            return_ = UNSET
        elif isinstance(self.return_, list):
            return_ = self.return_

        else:
            return_ = self.return_

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "output": output,
            }
        )
        if create_graph is not UNSET:
            field_dict["create_graph"] = create_graph
        if encoding is not UNSET:
            field_dict["encoding"] = encoding
        if gradient is not UNSET:
            field_dict["gradient"] = gradient
        if retain_graph is not UNSET:
            field_dict["retain_graph"] = retain_graph
        if return_ is not UNSET:
            field_dict["return"] = return_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        d = dict(src_dict)
        output = d.pop("output")

        create_graph = d.pop("create_graph", UNSET)

        _encoding = d.pop("encoding", UNSET)
        encoding: BackwardRequestEncoding | Unset
        if isinstance(_encoding, Unset):
            encoding = UNSET
        else:
            encoding = BackwardRequestEncoding(_encoding)

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

        backward_request = cls(
            output=output,
            create_graph=create_graph,
            encoding=encoding,
            gradient=gradient,
            retain_graph=retain_graph,
            return_=return_,
        )

        return backward_request
