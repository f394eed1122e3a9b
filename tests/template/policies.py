"""Prints the IAM policy documents each function of template.yaml gets for one set of parameter
values (and each role's inline policies), with the intrinsic functions resolved as CloudFormation would (pseudo parameters as
account 111122223333 in us-east-1; other resources' ARNs as placeholders), as one JSON object:
{"LogicalId": [policy document, ...]}. Functions whose Condition is false are left out.

Usage: python policies.py TEMPLATE '{"Parameter": "value", ...}' [--lint | --resources]
With --lint it prints instead what the IAM linter parliament finds in each document, as a JSON list
of {"function", "issue", "detail"}: parliament knows each action's resource types and condition keys.
With --resources it prints every resource the parameters create, resolved: {"LogicalId": {"Type",
"Properties"}}.
"""

import json
import re
import sys

from cfnlint.decode import decode_str

NO_VALUE = object()
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111122223333",
    "AWS::StackName": "preflight",
    "AWS::NoValue": NO_VALUE,
}


class Resolver:
    def __init__(self, template, given):
        self.template = template
        self.parameters = {}
        for name, spec in template.get("Parameters", {}).items():
            value = str(given.get(name, spec.get("Default", "")))
            self.parameters[name] = value.split(",") if spec.get("Type") == "CommaDelimitedList" else value
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def ref(self, name):
        if name in self.parameters:
            return self.parameters[name]
        if name in PSEUDO:
            return PSEUDO[name]
        resource = self.template["Resources"].get(name, {})
        kind = resource.get("Type")
        if kind == "AWS::Logs::LogGroup":
            return self.resolve(resource["Properties"]["LogGroupName"])
        return {
            "AWS::SQS::Queue": f"https://sqs.us-east-1.amazonaws.com/111122223333/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:us-east-1:111122223333:{name}",
        }.get(kind, name)

    def get_att(self, name, attribute):
        kind = self.template["Resources"].get(name, {}).get("Type")
        if attribute == "QueueName":
            return name
        return {
            "AWS::SQS::Queue": f"arn:aws:sqs:us-east-1:111122223333:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:us-east-1:111122223333:{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:us-east-1:111122223333:function:{name}",
            "AWS::Events::Rule": f"arn:aws:events:us-east-1:111122223333:rule/{name}",
        }.get(kind, f"arn:aws:placeholder:us-east-1:111122223333:{name}")

    def substitute(self, text, variables):
        def one(match):
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node):
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::If":
                name, then, otherwise = argument
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::Sub":
                if isinstance(argument, list):
                    text, variables = argument
                    return self.substitute(text, {k: self.resolve(v) for k, v in variables.items()})
                return self.substitute(argument, {})
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(index)]
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if key == "Fn::GetAtt":
                name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Equals":
                left, right = (self.resolve(part) for part in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::And":
                return all(self.resolve(part) for part in argument)
            if key == "Fn::Or":
                return any(self.resolve(part) for part in argument)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}


def lint(policies):
    import parliament

    findings = []
    for function, documents in policies.items():
        for document in documents:
            for finding in parliament.analyze_policy_string(json.dumps(document)).findings:
                findings.append({"function": function, "issue": finding.issue, "detail": str(finding.detail)})
    return findings


def main(path, given, mode=None):
    template, matches = decode_str(open(path).read())
    if matches:
        raise SystemExit(f"cannot read {path}: {matches}")
    resolver = Resolver(template, json.loads(given))
    if mode == "--resources":
        created = {
            name: {"Type": resource["Type"], "Properties": resolver.resolve(resource.get("Properties", {}))}
            for name, resource in template["Resources"].items()
            if "Condition" not in resource or resolver.condition(resource["Condition"])
        }
        print(json.dumps(created))
        return
    policies = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") not in ("AWS::Serverless::Function", "AWS::IAM::Role"):
            continue
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        documents = resolver.resolve(resource["Properties"].get("Policies", []))
        if resource["Type"] == "AWS::IAM::Role":
            # A role's inline policies wrap each document in {PolicyName, PolicyDocument}.
            documents = [document.get("PolicyDocument") for document in documents if isinstance(document, dict)]
        policies[name] = [document for document in documents if isinstance(document, dict)]
    print(json.dumps(lint(policies) if mode == "--lint" else policies))


if __name__ == "__main__":
    main(*sys.argv[1:4])
