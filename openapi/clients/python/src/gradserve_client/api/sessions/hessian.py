from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.hessian_request import HessianRequest
from ...models.hessian_response import HessianResponse
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    session_id: str,
    *,
    body: HessianRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/sessions/{session_id}/hessian".format(
            session_id=quote(str(session_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> HessianResponse | Problem | None:
    if response.status_code == 200:
        response_200 = HessianResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = Problem.from_dict(response.json())

        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[HessianResponse | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: HessianRequest,
) -> Response[HessianResponse | Problem]:
    """Hessian of a scalar output

     `{"hessian": {input_i: {input_j: H}}}`, H of shape input_i.shape + input_j.shape, for a single-
    element
    `output` (as torch.autograd.functional.hessian): the Jacobian of the gradient, in batched passes.

    Args:
        session_id (str): the id returned by create_session
        body (HessianRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HessianResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: HessianRequest,
) -> HessianResponse | Problem | None:
    """Hessian of a scalar output

     `{"hessian": {input_i: {input_j: H}}}`, H of shape input_i.shape + input_j.shape, for a single-
    element
    `output` (as torch.autograd.functional.hessian): the Jacobian of the gradient, in batched passes.

    Args:
        session_id (str): the id returned by create_session
        body (HessianRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HessianResponse | Problem
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: HessianRequest,
) -> Response[HessianResponse | Problem]:
    """Hessian of a scalar output

     `{"hessian": {input_i: {input_j: H}}}`, H of shape input_i.shape + input_j.shape, for a single-
    element
    `output` (as torch.autograd.functional.hessian): the Jacobian of the gradient, in batched passes.

    Args:
        session_id (str): the id returned by create_session
        body (HessianRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HessianResponse | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient,
    body: HessianRequest,
) -> HessianResponse | Problem | None:
    """Hessian of a scalar output

     `{"hessian": {input_i: {input_j: H}}}`, H of shape input_i.shape + input_j.shape, for a single-
    element
    `output` (as torch.autograd.functional.hessian): the Jacobian of the gradient, in batched passes.

    Args:
        session_id (str): the id returned by create_session
        body (HessianRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HessianResponse | Problem
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            body=body,
        )
    ).parsed
