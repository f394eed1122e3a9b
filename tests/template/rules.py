"""Evaluates template.yaml's Rules for one set of parameter values, as CloudFormation does before it
creates a stack: prints one JSON line with the description of every assertion that fails.

Usage: python rules.py TEMPLATE '{"Parameter": "value", ...}'
Parameters not given take their Default. Only the intrinsic functions the Rules use are evaluated
(Ref, Fn::Equals, Fn::EachMemberEquals, Fn::Not, Fn::And, Fn::Or); anything else is an error, not
a guess. A CommaDelimitedList parameter is a list, as in CloudFormation.
"""

import json
import sys

from cfnlint.decode import decode_str


def evaluate(node, parameters):
    if isinstance(node, (str, int, float, bool)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((name, argument),) = node.items()
        if name == "Ref":
            return parameters[argument]
        if name == "Fn::Equals":
            left, right = (evaluate(part, parameters) for part in argument)
            return str(left) == str(right)
        if name == "Fn::EachMemberEquals":
            members, value = (evaluate(part, parameters) for part in argument)
            if not isinstance(members, list):
                raise ValueError(f"Fn::EachMemberEquals needs a list, not {members!r}")
            return all(str(member) == str(value) for member in members)
        if name == "Fn::Not":
            return not evaluate(argument[0], parameters)
        if name == "Fn::And":
            return all(evaluate(part, parameters) for part in argument)
        if name == "Fn::Or":
            return any(evaluate(part, parameters) for part in argument)
    raise ValueError(f"cannot evaluate {node!r}")


def main(path, given):
    template, matches = decode_str(open(path).read())
    if matches:
        raise SystemExit(f"cannot read {path}: {matches}")
    specs = template.get("Parameters", {})
    parameters = {name: str(spec.get("Default", "")) for name, spec in specs.items()}
    parameters.update(json.loads(given))
    for name, spec in specs.items():
        if spec.get("Type") == "CommaDelimitedList":
            parameters[name] = str(parameters[name]).split(",")
    failed = []
    for rule in template.get("Rules", {}).values():
        if not evaluate(rule.get("RuleCondition", True), parameters):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], parameters):
                failed.append(assertion["AssertDescription"])
    print(json.dumps(failed))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
