"""GET /health of a part that serves nothing else (`relay --port`, `project NAME --port`)."""

from __future__ import annotations

from litestar import Litestar, Response, get

from sessionstore import codec
from sessionstore.parts import Parts


def health_app(parts: Parts) -> Litestar:
    """The same answer as the API's /health: 200 when every part runs, else 503 naming them."""

    @get("/health")
    async def health() -> Response[bytes]:
        body, status = parts.health()
        return Response(
            codec.encode_document(body), status_code=status, media_type="application/json"
        )

    return Litestar(route_handlers=[health], openapi_config=None, logging_config=None)
