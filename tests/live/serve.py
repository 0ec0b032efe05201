"""Serve the app (HTTP + Socket.IO) in its own process, for the scale-out test and the bench.

    python -m tests.live.serve --port 5001 --database sqlite:///... --queue redis://...

Prints "ready" once listening. Werkzeug's threaded server, as the live tests use in-process.
"""

from __future__ import annotations

import argparse
import sys

from werkzeug.serving import make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--queue", default=None)
    parser.add_argument("--secret", default="test-secret")
    args = parser.parse_args(argv)

    from community import create_app

    app = create_app({
        "INSTANCE_PATH": args.instance,
        "SECRET_KEY": args.secret,
        "SQLALCHEMY_DATABASE_URI": args.database,
        "SOCKETIO_MESSAGE_QUEUE": args.queue,
        "SEARCH_BACKEND": "memory",
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://localhost",
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    })
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
