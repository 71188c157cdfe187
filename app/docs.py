"""GET /docs: Swagger UI from assets shipped with the package, so that it works with no internet access."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from .errors import Problem

router = APIRouter(include_in_schema=False)

# the only files the page loads; the bundle's folder also holds a demo page that points at the internet
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
          "favicon-32x32.png": "image/png"}


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title=f"{request.app.title} - API docs",
                               swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
                               swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
                               swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
                               # the validator badge would send the document to an outside service
                               swagger_ui_parameters={"validatorUrl": None})


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise Problem(404, "not-found", f"no such resource: /docs/assets/{name}")
    return FileResponse(swagger_ui_path / name, media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
