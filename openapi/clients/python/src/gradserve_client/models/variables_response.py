from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.grads_response import GradsResponse
    from ..models.hessian_response import HessianResponse
    from ..models.hvp_response import HvpResponse
    from ..models.jacobian_response import JacobianResponse
    from ..models.jvp_response import JvpResponse
    from ..models.variables_response_variables import VariablesResponseVariables


T = TypeVar("T", bound="VariablesResponse")


@_attrs_define
class VariablesResponse:
    """
    Attributes:
        variables (VariablesResponseVariables):
        derivatives (list[GradsResponse | HessianResponse | HvpResponse | JacobianResponse | JvpResponse] | None |
            Unset): the answers of the program's derivative calls, in order (only when it had any)
    """

    variables: VariablesResponseVariables
    derivatives: list[GradsResponse | HessianResponse | HvpResponse | JacobianResponse | JvpResponse] | None | Unset = (
        UNSET
    )
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.grads_response import GradsResponse  # noqa: PLC0415
        from ..models.hvp_response import HvpResponse  # noqa: PLC0415
        from ..models.jacobian_response import JacobianResponse  # noqa: PLC0415
        from ..models.jvp_response import JvpResponse  # noqa: PLC0415

        variables = self.variables.to_dict()

        derivatives: list[dict[str, Any]] | None | Unset
        if isinstance(self.derivatives, Unset):
            derivatives = UNSET
        elif isinstance(self.derivatives, list):
            derivatives = []
            for derivatives_type_0_item_data in self.derivatives:
                derivatives_type_0_item: dict[str, Any]
                if isinstance(derivatives_type_0_item_data, GradsResponse):
                    derivatives_type_0_item = derivatives_type_0_item_data.to_dict()
                elif isinstance(derivatives_type_0_item_data, JacobianResponse):
                    derivatives_type_0_item = derivatives_type_0_item_data.to_dict()
                elif isinstance(derivatives_type_0_item_data, JvpResponse):
                    derivatives_type_0_item = derivatives_type_0_item_data.to_dict()
                elif isinstance(derivatives_type_0_item_data, HvpResponse):
                    derivatives_type_0_item = derivatives_type_0_item_data.to_dict()
                else:
                    derivatives_type_0_item = derivatives_type_0_item_data.to_dict()

                derivatives.append(derivatives_type_0_item)

        else:
            derivatives = self.derivatives

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "variables": variables,
            }
        )
        if derivatives is not UNSET:
            field_dict["derivatives"] = derivatives

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.grads_response import GradsResponse  # noqa: PLC0415
        from ..models.hessian_response import HessianResponse  # noqa: PLC0415
        from ..models.hvp_response import HvpResponse  # noqa: PLC0415
        from ..models.jacobian_response import JacobianResponse  # noqa: PLC0415
        from ..models.jvp_response import JvpResponse  # noqa: PLC0415
        from ..models.variables_response_variables import VariablesResponseVariables  # noqa: PLC0415

        d = dict(src_dict)
        variables = VariablesResponseVariables.from_dict(d.pop("variables"))

        def _parse_derivatives(
            data: object,
        ) -> list[GradsResponse | HessianResponse | HvpResponse | JacobianResponse | JvpResponse] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                derivatives_type_0 = []
                _derivatives_type_0 = data
                for derivatives_type_0_item_data in _derivatives_type_0:

                    def _parse_derivatives_type_0_item(
                        data: object,
                    ) -> GradsResponse | HessianResponse | HvpResponse | JacobianResponse | JvpResponse:
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            derivatives_type_0_item_type_0 = GradsResponse.from_dict(data)

                            return derivatives_type_0_item_type_0
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            derivatives_type_0_item_type_1 = JacobianResponse.from_dict(data)

                            return derivatives_type_0_item_type_1
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            derivatives_type_0_item_type_2 = JvpResponse.from_dict(data)

                            return derivatives_type_0_item_type_2
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            derivatives_type_0_item_type_3 = HvpResponse.from_dict(data)

                            return derivatives_type_0_item_type_3
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        if not isinstance(data, dict):
                            raise TypeError()
                        derivatives_type_0_item_type_4 = HessianResponse.from_dict(data)

                        return derivatives_type_0_item_type_4

                    derivatives_type_0_item = _parse_derivatives_type_0_item(derivatives_type_0_item_data)

                    derivatives_type_0.append(derivatives_type_0_item)

                return derivatives_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                list[GradsResponse | HessianResponse | HvpResponse | JacobianResponse | JvpResponse] | None | Unset,
                data,
            )

        derivatives = _parse_derivatives(d.pop("derivatives", UNSET))

        variables_response = cls(
            variables=variables,
            derivatives=derivatives,
        )

        variables_response.additional_properties = d
        return variables_response

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
