from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.get_graph_format import GetGraphFormat
from ...models.graph import Graph
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    *,
    format_: GetGraphFormat | Unset = GetGraphFormat.JSON,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_format_: str | Unset = UNSET
    if not isinstance(format_, Unset):
        json_format_ = format_.value

    params["format"] = json_format_

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/sessions/{session_id}/graph".format(
            session_id=quote(str(session_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Graph | Problem | None:
    if response.status_code == 200:
        response_200 = Graph.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 406:
        response_406 = Problem.from_dict(response.json())

        return response_406

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Graph | Problem]:
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
    format_: GetGraphFormat | Unset = GetGraphFormat.JSON,
) -> Response[Graph | Problem]:
    """The autograd graph

     Leaves, named outputs and grad_fn nodes (with what they saved, and whether it was freed), and edges.

    Args:
        session_id (str): the id returned by create_session
        format_ (GetGraphFormat | Unset): json, Graphviz dot, or an svg picture (406 svg-
            unavailable where the server has no Graphviz) Default: GetGraphFormat.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Graph | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        format_=format_,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    *,
    client: AuthenticatedClient,
    format_: GetGraphFormat | Unset = GetGraphFormat.JSON,
) -> Graph | Problem | None:
    """The autograd graph

     Leaves, named outputs and grad_fn nodes (with what they saved, and whether it was freed), and edges.

    Args:
        session_id (str): the id returned by create_session
        format_ (GetGraphFormat | Unset): json, Graphviz dot, or an svg picture (406 svg-
            unavailable where the server has no Graphviz) Default: GetGraphFormat.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Graph | Problem
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        format_=format_,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient,
    format_: GetGraphFormat | Unset = GetGraphFormat.JSON,
) -> Response[Graph | Problem]:
    """The autograd graph

     Leaves, named outputs and grad_fn nodes (with what they saved, and whether it was freed), and edges.

    Args:
        session_id (str): the id returned by create_session
        format_ (GetGraphFormat | Unset): json, Graphviz dot, or an svg picture (406 svg-
            unavailable where the server has no Graphviz) Default: GetGraphFormat.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Graph | Problem]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        format_=format_,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient,
    format_: GetGraphFormat | Unset = GetGraphFormat.JSON,
) -> Graph | Problem | None:
    """The autograd graph

     Leaves, named outputs and grad_fn nodes (with what they saved, and whether it was freed), and edges.

    Args:
        session_id (str): the id returned by create_session
        format_ (GetGraphFormat | Unset): json, Graphviz dot, or an svg picture (406 svg-
            unavailable where the server has no Graphviz) Default: GetGraphFormat.JSON.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Graph | Problem
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            format_=format_,
        )
    ).parsed
