from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.get_variable_encoding import GetVariableEncoding
from ...models.problem import Problem
from ...models.variable import Variable
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    name: str,
    *,
    encoding: GetVariableEncoding | Unset = GetVariableEncoding.JSON,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_encoding: str | Unset = UNSET
    if not isinstance(encoding, Unset):
        json_encoding = encoding.value

    params["encoding"] = json_encoding

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/sessions/{session_id}/variables/{name}".format(
            session_id=quote(str(session_id), safe=""),
            name=quote(str(name), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Variable | None:
    if response.status_code == 200:
        response_200 = Variable.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Variable]:
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
    encoding: GetVariableEncoding | Unset = GetVariableEncoding.JSON,
) -> Response[Problem | Variable]:
    """One variable with its data and grad

    Args:
        session_id (str): the id returned by create_session
        name (str):
        encoding (GetVariableEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetVariableEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Variable]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        name=name,
        encoding=encoding,
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
    encoding: GetVariableEncoding | Unset = GetVariableEncoding.JSON,
) -> Problem | Variable | None:
    """One variable with its data and grad

    Args:
        session_id (str): the id returned by create_session
        name (str):
        encoding (GetVariableEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetVariableEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Variable
    """

    return sync_detailed(
        session_id=session_id,
        name=name,
        client=client,
        encoding=encoding,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
    encoding: GetVariableEncoding | Unset = GetVariableEncoding.JSON,
) -> Response[Problem | Variable]:
    """One variable with its data and grad

    Args:
        session_id (str): the id returned by create_session
        name (str):
        encoding (GetVariableEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetVariableEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Variable]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        name=name,
        encoding=encoding,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
    encoding: GetVariableEncoding | Unset = GetVariableEncoding.JSON,
) -> Problem | Variable | None:
    """One variable with its data and grad

    Args:
        session_id (str): the id returned by create_session
        name (str):
        encoding (GetVariableEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetVariableEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Variable
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            name=name,
            client=client,
            encoding=encoding,
        )
    ).parsed
