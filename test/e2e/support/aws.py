"""
AWS calls of the AWS event-path proof, run inside the emulator's container with moto's own
boto3 against http://127.0.0.1:5000 (fake credentials). One JSON command on stdin, one JSON
answer on stdout. Every policy, pattern and setting arrives from the test, rendered by
infra/registry/ecr-policies.ts: what is created here is what the Pulumi component creates.
"""

import json
import sys

import boto3

KW = {"endpoint_url": "http://127.0.0.1:5000", "region_name": "eu-west-1",
      "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(name):
    return boto3.client(name, **KW)


def setup(c):
    sqs, events, iam, ecr = client("sqs"), client("events"), client("iam"), client("ecr")
    dlq = sqs.create_queue(QueueName=c["dlq"])["QueueUrl"]
    queue = sqs.create_queue(QueueName=c["queue"], Attributes={
        "VisibilityTimeout": str(c["visibilityTimeout"]),
        "RedrivePolicy": json.dumps(c["redrivePolicy"]),
        "Policy": json.dumps(c["queuePolicy"]),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = events.put_rule(Name=c["rule"], EventPattern=json.dumps(c["pattern"]))["RuleArn"]
    events.put_targets(Rule=c["rule"], Targets=[{"Id": "queue", "Arn": arn}])
    repo = ecr.create_repository(repositoryName=c["repository"])["repository"]["repositoryArn"]
    roles = {}
    for name, role in c["roles"].items():
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role["trust"]))["Role"]
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(role["policy"]))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        roles[name] = created["Arn"]
    return {"queueUrl": queue, "dlqUrl": dlq, "queueArn": arn, "ruleArn": rule, "repositoryArn": repo, "roles": roles,
            "queueAttributes": sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]}


def put_events(c):
    out = client("events").put_events(Entries=c["entries"])
    return {"failed": out["FailedEntryCount"], "ids": [e.get("EventId") for e in out["Entries"]]}


def send(c):
    sqs = client("sqs")
    return {"ids": [sqs.send_message(QueueUrl=c["queueUrl"], MessageBody=b)["MessageId"] for b in c["bodies"]]}


def hold(c):
    """Receive without deleting (a consumer that dies before its delete): back after ``visibility`` s."""
    got = client("sqs").receive_message(QueueUrl=c["queueUrl"], MaxNumberOfMessages=10,
                                        VisibilityTimeout=c["visibility"], WaitTimeSeconds=1)
    return {"bodies": [m["Body"] for m in got.get("Messages", [])]}


def counts(c):
    sqs = client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    out = {}
    for key in ("queueUrl", "dlqUrl"):
        attrs = sqs.get_queue_attributes(QueueUrl=c[key], AttributeNames=names)["Attributes"]
        out[key] = sum(int(attrs[n]) for n in names)
    return out


def dlq_bodies(c):
    got = client("sqs").receive_message(QueueUrl=c["dlqUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0)
    return {"bodies": [m["Body"] for m in got.get("Messages", [])]}


def token(c):
    data = client("ecr").get_authorization_token()["authorizationData"][0]
    return {"proxyEndpoint": data["proxyEndpoint"]}


if __name__ == "__main__":
    command = json.load(sys.stdin)
    print(json.dumps(globals()[command.pop("op")](command)))
