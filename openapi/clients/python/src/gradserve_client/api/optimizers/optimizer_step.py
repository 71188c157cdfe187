from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.step_request import StepRequest
from ...models.variables_response import VariablesResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    name: str,
    *,
    body: None | StepRequest | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/sessions/{session_id}/optimizers/{name}/step".format(
            session_id=quote(str(session_id), safe=""),
            name=quote(str(name), safe=""),
        ),
    }

    if isinstance(body, StepRequest):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | VariablesResponse | None:
    if response.status_code == 200:
        response_200 = VariablesResponse.from_dict(response.json())

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
) -> Response[Problem | VariablesResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: None | StepRequest | Unset = UNSET,
) -> Response[Problem | VariablesResponse]:
    """One optimizer step

     `optimizer.step()`: each param that has a grad is updated in place (params whose grad is null are
    skipped); returns the params. A graph that saved a param's old value can no longer be differentiated
    through (409 modified-in-place), as in torch.

    Args:
        session_id (str): the id returned by create_session
        name (str):
        body (None | StepRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | VariablesResponse]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        name=name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: None | StepRequest | Unset = UNSET,
) -> Problem | VariablesResponse | None:
    """One optimizer step

     `optimizer.step()`: each param that has a grad is updated in place (params whose grad is null are
    skipped); returns the params. A graph that saved a param's old value can no longer be differentiated
    through (409 modified-in-place), as in torch.

    Args:
        session_id (str): the id returned by create_session
        name (str):
        body (None | StepRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | VariablesResponse
    """

    return sync_detailed(
        session_id=session_id,
        name=name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: None | StepRequest | Unset = UNSET,
) -> Response[Problem | VariablesResponse]:
    """One optimizer step

     `optimizer.step()`: each param that has a grad is updated in place (params whose grad is null are
    skipped); returns the params. A graph that saved a param's old value can no longer be differentiated
    through (409 modified-in-place), as in torch.

    Args:
        session_id (str): the id returned by create_session
        name (str):
        body (None | StepRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | VariablesResponse]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        name=name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: None | StepRequest | Unset = UNSET,
) -> Problem | VariablesResponse | None:
    """One optimizer step

     `optimizer.step()`: each param that has a grad is updated in place (params whose grad is null are
    skipped); returns the params. A graph that saved a param's old value can no longer be differentiated
    through (409 modified-in-place), as in torch.

    Args:
        session_id (str): the id returned by create_session
        name (str):
        body (None | StepRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | VariablesResponse
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            name=name,
            client=client,
            body=body,
        )
    ).parsed
