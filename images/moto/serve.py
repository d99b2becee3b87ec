"""
moto on two listeners that share one set of emulated AWS backends (one process):

- HTTP on :5000 - the tests and the master's engine (endpoint override), and moto's
  instance-metadata endpoint (``/latest/meta-data/...``) for credentials;
- HTTPS on :443 with /certs/server.pem + /certs/server.key, when present - for clients that
  cannot be pointed at another endpoint (the Docker credential helper for ECR calls
  ``https://api.ecr.<region>.amazonaws.com``: the test gives the emulator's container that
  network alias and the minion trusts the test's own CA for it).
"""

import os
import threading

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

APP = DomainDispatcherApplication(create_backend_app)


def serve(port, ssl_context=None):
    make_server("0.0.0.0", port, APP, threaded=True, request_handler=MotoRequestHandler,
                ssl_context=ssl_context).serve_forever()


if __name__ == "__main__":
    if os.path.exists("/certs/server.pem"):
        tls = threading.Thread(target=serve, args=(443, ("/certs/server.pem", "/certs/server.key")), daemon=True)
        tls.start()
    print("moto serving on :5000" + (" and :443 (TLS)" if os.path.exists("/certs/server.pem") else ""), flush=True)
    serve(5000)
