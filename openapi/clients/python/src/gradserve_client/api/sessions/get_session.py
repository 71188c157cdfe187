from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.get_session_encoding import GetSessionEncoding
from ...models.problem import Problem
from ...models.session import Session
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    *,
    data: bool | Unset = False,
    encoding: GetSessionEncoding | Unset = GetSessionEncoding.JSON,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["data"] = data

    json_encoding: str | Unset = UNSET
    if not isinstance(encoding, Unset):
        json_encoding = encoding.value

    params["encoding"] = json_encoding

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/sessions/{session_id}".format(
            session_id=quote(str(session_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Session | None:
    if response.status_code == 200:
        response_200 = Session.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Session]:
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
    data: bool | Unset = False,
    encoding: GetSessionEncoding | Unset = GetSessionEncoding.JSON,
) -> Response[Problem | Session]:
    """Describe a session

     The session's variables (metadata only, unless `data=true`) and when it expires.

    Args:
        session_id (str): the id returned by create_session
        data (bool | Unset): include every variable's data and grad Default: False.
        encoding (GetSessionEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetSessionEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Session]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        data=data,
        encoding=encoding,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    *,
    client: AuthenticatedClient,
    data: bool | Unset = False,
    encoding: GetSessionEncoding | Unset = GetSessionEncoding.JSON,
) -> Problem | Session | None:
    """Describe a session

     The session's variables (metadata only, unless `data=true`) and when it expires.

    Args:
        session_id (str): the id returned by create_session
        data (bool | Unset): include every variable's data and grad Default: False.
        encoding (GetSessionEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetSessionEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Session
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        data=data,
        encoding=encoding,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    data: bool | Unset = False,
    encoding: GetSessionEncoding | Unset = GetSessionEncoding.JSON,
) -> Response[Problem | Session]:
    """Describe a session

     The session's variables (metadata only, unless `data=true`) and when it expires.

    Args:
        session_id (str): the id returned by create_session
        data (bool | Unset): include every variable's data and grad Default: False.
        encoding (GetSessionEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetSessionEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Session]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        data=data,
        encoding=encoding,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient,
    data: bool | Unset = False,
    encoding: GetSessionEncoding | Unset = GetSessionEncoding.JSON,
) -> Problem | Session | None:
    """Describe a session

     The session's variables (metadata only, unless `data=true`) and when it expires.

    Args:
        session_id (str): the id returned by create_session
        data (bool | Unset): include every variable's data and grad Default: False.
        encoding (GetSessionEncoding | Unset): json: nested lists; base64: little-endian bytes
            Default: GetSessionEncoding.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Session
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            data=data,
            encoding=encoding,
        )
    ).parsed
