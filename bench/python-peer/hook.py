"""The baseline: a CodeDeploy hook written the way the field usually writes it.

Python with boto3 clients created at import, run by awslambdaric against the same Runtime API as
preflight. It does the same work for a healthy Lambda deployment: GetDeployment, GetApplicationRevision
for the AppSpec (GetDeployment names the revision by its sha256 only), invoke the new version with an
API Gateway event, check the status, report. It is a benchmark
peer, not product: like most copies, it checks the first resource only and does not retry.
"""

import json

import boto3
import yaml

codedeploy = boto3.client("codedeploy")
lambda_client = boto3.client("lambda")

HEALTHCHECK = {
    "resource": "/healthcheck",
    "path": "/healthcheck",
    "httpMethod": "GET",
    "headers": {"host": "preflight.invalid"},
    "requestContext": {"httpMethod": "GET", "path": "/healthcheck"},
    "body": None,
    "isBase64Encoded": False,
}


def handler(event, context):
    deployment_id = event["DeploymentId"]
    execution_id = event["LifecycleEventHookExecutionId"]
    status = "Failed"
    try:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        revision = codedeploy.get_application_revision(
            applicationName=info["applicationName"], revision=info["revision"]
        )["revision"]
        appspec = yaml.safe_load(revision["appSpecContent"]["content"])
        properties = next(iter(appspec["Resources"][0].values()))["Properties"]
        response = lambda_client.invoke(
            FunctionName=properties["Name"],
            Qualifier=str(properties["TargetVersion"]),
            Payload=json.dumps(HEALTHCHECK),
        )
        answer = json.loads(response["Payload"].read())
        if "FunctionError" not in response and 200 <= int(answer.get("statusCode", 500)) < 400:
            status = "Succeeded"
    except Exception as error:  # the usual catch-all, so that the report still goes out
        print(f"check failed: {error}")
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id,
        lifecycleEventHookExecutionId=execution_id,
        status=status,
    )
    return {"status": status}
