"""A Starlette app behind Mangum: answers each event file given as an argument with one JSON line."""

import json
import sys

from mangum import Mangum
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def healthcheck(request):
    return JSONResponse(
        {"path": request.url.path, "deep": request.query_params.get("deep"), "host": request.headers.get("host")}
    )


handler = Mangum(Starlette(routes=[Route("/healthcheck", healthcheck)]), lifespan="off")

for path in sys.argv[1:]:
    with open(path) as file:
        response = handler(json.load(file), object())
    print(json.dumps({"event": path, "status": response["statusCode"], "body": json.loads(response["body"])}))
