from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.op_info_arity_type_1 import OpInfoArityType1

if TYPE_CHECKING:
    from ..models.kwarg_info import KwargInfo


T = TypeVar("T", bound="OpInfo")


@_attrs_define
class OpInfo:
    """A catalog entry: how to call an op.

    Attributes:
        aliases (list[str]): other names of the op (PyTorch's or numpy's: clamp for clip, ...), accepted wherever an op
            is named
        args (list[str]):
        arity (int | OpInfoArityType1):
        differentiable (bool):
        doc (str):
        family (str): the group of ops it belongs to (unary, reductions, shape, ...)
        grad_fn (None | str):
        kwargs (list[KwargInfo]):
        method (bool):
        name (str):
        torch (str): its PyTorch counterpart
    """

    aliases: list[str]
    args: list[str]
    arity: int | OpInfoArityType1
    differentiable: bool
    doc: str
    family: str
    grad_fn: None | str
    kwargs: list[KwargInfo]
    method: bool
    name: str
    torch: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        aliases = self.aliases

        args = self.args

        arity: int | str
        if isinstance(self.arity, OpInfoArityType1):
            arity = self.arity.value
        else:
            arity = self.arity

        differentiable = self.differentiable

        doc = self.doc

        family = self.family

        grad_fn: None | str
        grad_fn = self.grad_fn

        kwargs = []
        for kwargs_item_data in self.kwargs:
            kwargs_item = kwargs_item_data.to_dict()
            kwargs.append(kwargs_item)

        method = self.method

        name = self.name

        torch = self.torch

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "aliases": aliases,
                "args": args,
                "arity": arity,
                "differentiable": differentiable,
                "doc": doc,
                "family": family,
                "grad_fn": grad_fn,
                "kwargs": kwargs,
                "method": method,
                "name": name,
                "torch": torch,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.kwarg_info import KwargInfo  # noqa: PLC0415

        d = dict(src_dict)
        aliases = cast(list[str], d.pop("aliases"))

        args = cast(list[str], d.pop("args"))

        def _parse_arity(data: object) -> int | OpInfoArityType1:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                arity_type_1 = OpInfoArityType1(data)

                return arity_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(int | OpInfoArityType1, data)

        arity = _parse_arity(d.pop("arity"))

        differentiable = d.pop("differentiable")

        doc = d.pop("doc")

        family = d.pop("family")

        def _parse_grad_fn(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        grad_fn = _parse_grad_fn(d.pop("grad_fn"))

        kwargs = []
        _kwargs = d.pop("kwargs")
        for kwargs_item_data in _kwargs:
            kwargs_item = KwargInfo.from_dict(kwargs_item_data)

            kwargs.append(kwargs_item)

        method = d.pop("method")

        name = d.pop("name")

        torch = d.pop("torch")

        op_info = cls(
            aliases=aliases,
            args=args,
            arity=arity,
            differentiable=differentiable,
            doc=doc,
            family=family,
            grad_fn=grad_fn,
            kwargs=kwargs,
            method=method,
            name=name,
            torch=torch,
        )

        op_info.additional_properties = d
        return op_info

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
