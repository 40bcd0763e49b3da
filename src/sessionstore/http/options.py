"""OPTIONS answers that name every method of a path.

Litestar 2.25 answers OPTIONS with the methods of a path's first handler only (GET and PUT
of one session path come out as `OPTIONS, PUT`); its 405 answers carry the right `Allow`.
Given an OPTIONS handler of its own, a path keeps it and Litestar makes none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from litestar import Response, route
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_204_NO_CONTENT


def with_options(handlers: Sequence[HTTPRouteHandler]) -> list[HTTPRouteHandler]:
    methods: dict[str, set[str]] = defaultdict(lambda: {"OPTIONS"})
    for handler in handlers:
        for path in handler.paths:
            methods[path] |= set(handler.http_methods)
    return [*(_options(path, ", ".join(sorted(m))) for path, m in methods.items()), *handlers]


def _options(path: str, allow: str) -> HTTPRouteHandler:
    async def options() -> Response[None]:
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": allow})

    return route(path, http_method="OPTIONS", include_in_schema=False, name=f"options:{path}")(
        options
    )
