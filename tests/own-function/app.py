"""A handler for AWS's own Python runtime interface client (awslambdaric), as a team's function
would be written: it answers the health path and nothing else."""

import json


def handler(event, context):
    path = event.get("path") or event.get("rawPath")
    if path != "/health":
        return {"statusCode": 404, "body": json.dumps({"error": f"no route {path}"})}
    return {"statusCode": 200, "body": json.dumps({"status": "ok", "function": context.function_name})}
