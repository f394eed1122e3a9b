"""A Lambda function written for the tests, speaking the Lambda Runtime API with nothing but
Python's standard library: every invocation is answered as API Gateway's proxy integration
expects, with the status given as the first argument (200: healthy, 500: broken)."""

import json
import os
import sys
import urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
STATUS = int(sys.argv[1])

while True:
    with urllib.request.urlopen(f"http://{API}/2018-06-01/runtime/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.load(response)
    body = {"status": "ok" if STATUS < 400 else "broken", "path": event.get("path") or event.get("rawPath")}
    answer = {"statusCode": STATUS, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
    done = urllib.request.Request(
        f"http://{API}/2018-06-01/runtime/invocation/{request_id}/response",
        data=json.dumps(answer).encode(),
        method="POST",
    )
    urllib.request.urlopen(done).read()
