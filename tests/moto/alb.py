"""Creates, in a running moto_server, what a team already has before using the maintenance page:
a VPC, an Application Load Balancer, its HTTP listener forwarding to the application's target
group, and a spare "sorry" target group. Prints their ARNs as one JSON line.

Usage: python alb.py ENDPOINT_URL NAME   (NAME keeps several load balancers in one server apart)
"""

import json
import sys

import boto3


def main(endpoint: str, name: str) -> None:
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    ec2 = session.client("ec2", endpoint_url=endpoint)
    elb = session.client("elbv2", endpoint_url=endpoint)

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    balancer = elb.create_load_balancer(Name=name, Subnets=subnets, Type="application")["LoadBalancers"][0]
    app = elb.create_target_group(Name=f"{name}-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    sorry = elb.create_target_group(Name=f"{name}-sorry", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    listener = elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": app["TargetGroupArn"]}],
    )["Listeners"][0]
    print(
        json.dumps(
            {
                "listener": listener["ListenerArn"],
                "dns_name": balancer["DNSName"],
                "app_target_group": app["TargetGroupArn"],
                "sorry_target_group": sorry["TargetGroupArn"],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
