from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.graph_node_kind import GraphNodeKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.saved_buffer import SavedBuffer


T = TypeVar("T", bound="GraphNode")


@_attrs_define
class GraphNode:
    """A tensor (kind leaf or output) or a grad_fn node.

    Attributes:
        id (str):
        kind (GraphNodeKind):
        label (str):
        dtype (None | str | Unset):
        freed (bool | None | Unset):
        has_grad (bool | None | Unset):
        names (list[str] | None | Unset):
        op (None | str | Unset):
        requires_grad (bool | None | Unset):
        saved (list[SavedBuffer] | None | Unset):
        shape (list[int] | None | Unset):
    """

    id: str
    kind: GraphNodeKind
    label: str
    dtype: None | str | Unset = UNSET
    freed: bool | None | Unset = UNSET
    has_grad: bool | None | Unset = UNSET
    names: list[str] | None | Unset = UNSET
    op: None | str | Unset = UNSET
    requires_grad: bool | None | Unset = UNSET
    saved: list[SavedBuffer] | None | Unset = UNSET
    shape: list[int] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind.value

        label = self.label

        dtype: None | str | Unset
        if isinstance(self.dtype, Unset):
            dtype = UNSET
        else:
            dtype = self.dtype

        freed: bool | None | Unset
        if isinstance(self.freed, Unset):
            freed = UNSET
        else:
            freed = self.freed

        has_grad: bool | None | Unset
        if isinstance(self.has_grad, Unset):
            has_grad = UNSET
        else:
            has_grad = self.has_grad

        names: list[str] | None | Unset
        if isinstance(self.names, Unset):
            names = UNSET
        elif isinstance(self.names, list):
            names = self.names

        else:
            names = self.names

        op: None | str | Unset
        if isinstance(self.op, Unset):
            op = UNSET
        else:
            op = self.op

        requires_grad: bool | None | Unset
        if isinstance(self.requires_grad, Unset):
            requires_grad = UNSET
        else:
            requires_grad = self.requires_grad

        saved: list[dict[str, Any]] | None | Unset
        if isinstance(self.saved, Unset):
            saved = UNSET
        elif isinstance(self.saved, list):
            saved = []
            for saved_type_0_item_data in self.saved:
                saved_type_0_item = saved_type_0_item_data.to_dict()
                saved.append(saved_type_0_item)

        else:
            saved = self.saved

        shape: list[int] | None | Unset
        if isinstance(self.shape, Unset):
            shape = UNSET
        elif isinstance(self.shape, list):
            shape = self.shape

        else:
            shape = self.shape

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "label": label,
            }
        )
        if dtype is not UNSET:
            field_dict["dtype"] = dtype
        if freed is not UNSET:
            field_dict["freed"] = freed
        if has_grad is not UNSET:
            field_dict["has_grad"] = has_grad
        if names is not UNSET:
            field_dict["names"] = names
        if op is not UNSET:
            field_dict["op"] = op
        if requires_grad is not UNSET:
            field_dict["requires_grad"] = requires_grad
        if saved is not UNSET:
            field_dict["saved"] = saved
        if shape is not UNSET:
            field_dict["shape"] = shape

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.saved_buffer import SavedBuffer  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        kind = GraphNodeKind(d.pop("kind"))

        label = d.pop("label")

        def _parse_dtype(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        dtype = _parse_dtype(d.pop("dtype", UNSET))

        def _parse_freed(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        freed = _parse_freed(d.pop("freed", UNSET))

        def _parse_has_grad(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        has_grad = _parse_has_grad(d.pop("has_grad", UNSET))

        def _parse_names(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                names_type_0 = cast(list[str], data)

                return names_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        names = _parse_names(d.pop("names", UNSET))

        def _parse_op(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        op = _parse_op(d.pop("op", UNSET))

        def _parse_requires_grad(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        requires_grad = _parse_requires_grad(d.pop("requires_grad", UNSET))

        def _parse_saved(data: object) -> list[SavedBuffer] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                saved_type_0 = []
                _saved_type_0 = data
                for saved_type_0_item_data in _saved_type_0:
                    saved_type_0_item = SavedBuffer.from_dict(saved_type_0_item_data)

                    saved_type_0.append(saved_type_0_item)

                return saved_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[SavedBuffer] | None | Unset, data)

        saved = _parse_saved(d.pop("saved", UNSET))

        def _parse_shape(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                shape_type_0 = cast(list[int], data)

                return shape_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        shape = _parse_shape(d.pop("shape", UNSET))

        graph_node = cls(
            id=id,
            kind=kind,
            label=label,
            dtype=dtype,
            freed=freed,
            has_grad=has_grad,
            names=names,
            op=op,
            requires_grad=requires_grad,
            saved=saved,
            shape=shape,
        )

        graph_node.additional_properties = d
        return graph_node

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
