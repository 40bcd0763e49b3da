"""GET /health and GET /metrics of a part that serves nothing else (`relay --port`,
`project NAME --port`)."""

from __future__ import annotations

from litestar import Litestar, Response, get
from litestar.handlers import HTTPRouteHandler

from sessionstore import codec, metrics
from sessionstore.parts import Parts


def health_app(parts: Parts) -> Litestar:
    """The same answer as the API's /health: 200 when every part runs, else 503 naming them."""

    @get("/health")
    async def health() -> Response[bytes]:
        body, status = parts.health()
        return Response(
            codec.encode_document(body), status_code=status, media_type="application/json"
        )

    return Litestar(
        route_handlers=[health, metrics_handler()],
        middleware=[metrics.measured],
        openapi_config=None,
        logging_config=None,
    )


def metrics_handler() -> HTTPRouteHandler:
    """GET /metrics: this process's metrics in Prometheus' text format."""

    @get("/metrics")
    async def prometheus() -> Response[bytes]:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return prometheus
