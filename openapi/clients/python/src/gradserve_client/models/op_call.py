from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.op_call_kwargs import OpCallKwargs
    from ..models.tensor_base_64 import TensorBase64
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="OpCall")


@_attrs_define
class OpCall:
    """One step of a program: bind `name` to `op(*args, **kwargs)` or to the value of `expr`.

    Attributes:
        name (str): a variable name (an identifier)
        args (list[bool | float | list[Any] | str | TensorBase64 | TensorData] | Unset):
        expr (None | str | Unset): a formula: numbers, names, + - * / ** @, unary minus, parentheses, calls of catalog
            ops and subscripts such as x[0, 1:3]
        kwargs (OpCallKwargs | Unset): the op's keyword attributes
        no_grad (bool | Unset): compute without recording a graph (torch.no_grad): the result is a leaf Default: False.
        op (None | str | Unset): a catalog op (GET /v1/ops); give either `op` or `expr`
        requires_grad (bool | None | Unset): make the result a leaf that requires grad (or not), as requires_grad_(); a
            computed (non-leaf) result is a 422
        retain_grad (bool | Unset): keep this non-leaf's grad after backward Default: False.
    """

    name: str
    args: list[bool | float | list[Any] | str | TensorBase64 | TensorData] | Unset = UNSET
    expr: None | str | Unset = UNSET
    kwargs: OpCallKwargs | Unset = UNSET
    no_grad: bool | Unset = False
    op: None | str | Unset = UNSET
    requires_grad: bool | None | Unset = UNSET
    retain_grad: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        name = self.name

        args: list[bool | dict[str, Any] | float | list[Any] | str] | Unset = UNSET
        if not isinstance(self.args, Unset):
            args = []
            for args_item_data in self.args:
                args_item: bool | dict[str, Any] | float | list[Any] | str
                if isinstance(args_item_data, list):
                    args_item = args_item_data

                elif isinstance(args_item_data, TensorData):
                    args_item = args_item_data.to_dict()
                elif isinstance(args_item_data, TensorBase64):
                    args_item = args_item_data.to_dict()
                else:
                    args_item = args_item_data
                args.append(args_item)

        expr: None | str | Unset
        if isinstance(self.expr, Unset):
            expr = UNSET
        else:
            expr = self.expr

        kwargs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.kwargs, Unset):
            kwargs = self.kwargs.to_dict()

        no_grad = self.no_grad

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

        retain_grad = self.retain_grad

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if args is not UNSET:
            field_dict["args"] = args
        if expr is not UNSET:
            field_dict["expr"] = expr
        if kwargs is not UNSET:
            field_dict["kwargs"] = kwargs
        if no_grad is not UNSET:
            field_dict["no_grad"] = no_grad
        if op is not UNSET:
            field_dict["op"] = op
        if requires_grad is not UNSET:
            field_dict["requires_grad"] = requires_grad
        if retain_grad is not UNSET:
            field_dict["retain_grad"] = retain_grad

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.op_call_kwargs import OpCallKwargs  # noqa: PLC0415
        from ..models.tensor_base_64 import TensorBase64  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        _args = d.pop("args", UNSET)
        args: list[bool | float | list[Any] | str | TensorBase64 | TensorData] | Unset = UNSET
        if _args is not UNSET:
            args = []
            for args_item_data in _args:

                def _parse_args_item(data: object) -> bool | float | list[Any] | str | TensorBase64 | TensorData:
                    try:
                        if not isinstance(data, list):
                            raise TypeError()
                        componentsschemas_arg_type_3 = cast(list[Any], data)

                        return componentsschemas_arg_type_3
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        componentsschemas_arg_type_4 = TensorData.from_dict(data)

                        return componentsschemas_arg_type_4
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        componentsschemas_arg_type_5 = TensorBase64.from_dict(data)

                        return componentsschemas_arg_type_5
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    return cast(bool | float | list[Any] | str | TensorBase64 | TensorData, data)

                args_item = _parse_args_item(args_item_data)

                args.append(args_item)

        def _parse_expr(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        expr = _parse_expr(d.pop("expr", UNSET))

        _kwargs = d.pop("kwargs", UNSET)
        kwargs: OpCallKwargs | Unset
        if isinstance(_kwargs, Unset):
            kwargs = UNSET
        else:
            kwargs = OpCallKwargs.from_dict(_kwargs)

        no_grad = d.pop("no_grad", UNSET)

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

        retain_grad = d.pop("retain_grad", UNSET)

        op_call = cls(
            name=name,
            args=args,
            expr=expr,
            kwargs=kwargs,
            no_grad=no_grad,
            op=op,
            requires_grad=requires_grad,
            retain_grad=retain_grad,
        )

        return op_call
