"""
moto on two listeners that share one set of emulated AWS backends (one process):

- HTTP on :5000 - the tests and the master's engine (endpoint override), and the instance
  metadata (``/latest/...``, below) that the credentials come from;
- HTTPS on :443 with /certs/server.pem + /certs/server.key, when present - for clients that
  cannot be pointed at another endpoint (the Docker credential helper for ECR calls
  ``https://api.ecr.<region>.amazonaws.com``: the test gives the emulator's container that
  network alias and the minion trusts the test's own CA for it).

Instance metadata like EC2's: moto's own answers lack the ``Code``/``Type`` fields the Go SDK
requires and give every caller the same role, so ``/latest/`` is served here: the role of
the calling address comes from /etc/saltpipe-imds/roles.json (``{"<ip>": "<role ARN>"}``,
written by the test) and its credentials from moto's STS ``AssumeRole`` - a minion gets its
own role's (emulated) credentials, as on EC2.
"""

import datetime
import json
import os
import threading

import boto3
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

MOTO = DomainDispatcherApplication(create_backend_app)
ROLES = "/etc/saltpipe-imds/roles.json"
STS = {"endpoint_url": "http://127.0.0.1:5000", "region_name": "us-east-1",
       "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _role_of(address):
    try:
        with open(ROLES, encoding="utf-8") as fh:
            return json.load(fh).get(address)
    except (OSError, ValueError):
        return None


def _credentials(address):
    arn = _role_of(address)
    if not arn:
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)
        return "saltpipe-emulated-instance", {"AccessKeyId": "testing", "SecretAccessKey": "testing",
                                              "Token": "testing", "Expiration": expires}
    creds = boto3.client("sts", **STS).assume_role(RoleArn=arn, RoleSessionName=address.replace(".", "-"))
    return arn.rsplit("/", 1)[-1], creds["Credentials"]


def imds(environ, start_response):
    request = Request(environ)
    address = request.remote_addr or ""
    path = request.path
    if path == "/latest/api/token" and request.method == "PUT":
        return Response("saltpipe-emulated-imds-token")(environ, start_response)
    base = "/latest/meta-data/iam/security-credentials/"
    if path.startswith(base):
        name, creds = _credentials(address)
        if path == base:
            return Response(name)(environ, start_response)
        if path[len(base):].strip("/") != name:
            return Response("not found", status=404)(environ, start_response)
        body = {"Code": "Success", "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC", "AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
                "Token": creds.get("SessionToken") or creds.get("Token"),
                "Expiration": creds["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}
        print(f"imds: credentials of {name} for {address}", flush=True)
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)
    return Response("not found", status=404)(environ, start_response)


def app(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/latest/"):
        return imds(environ, start_response)
    return MOTO(environ, start_response)


def serve(port, ssl_context=None):
    make_server("0.0.0.0", port, app, threaded=True, request_handler=MotoRequestHandler,
                ssl_context=ssl_context).serve_forever()


if __name__ == "__main__":
    if os.path.exists("/certs/server.pem"):
        tls = threading.Thread(target=serve, args=(443, ("/certs/server.pem", "/certs/server.key")), daemon=True)
        tls.start()
    print("moto serving on :5000" + (" and :443 (TLS)" if os.path.exists("/certs/server.pem") else ""), flush=True)
    serve(5000)
