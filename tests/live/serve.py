"""Serve the app (HTTP + Socket.IO) in its own process, for the scale-out test and the bench.

    python -m tests.live.serve --port 5001 --database sqlite:///... --queue redis://...

Prints "ready" once listening. Werkzeug's threaded server, as the live tests use in-process.
The search index is in memory unless --search-index names a Whoosh folder; --setting NAME=JSON
overrides any other setting (the crash test slows the workers down with it).
"""

from __future__ import annotations

import argparse
import json
import sys

from werkzeug.serving import make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--queue", default=None)
    parser.add_argument("--secret", default="test-secret")
    parser.add_argument("--search-index", default=None)
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=JSON")
    args = parser.parse_args(argv)
    settings = {name: json.loads(value)
                for name, value in (item.split("=", 1) for item in args.setting)}

    from community import create_app

    app = create_app({
        "INSTANCE_PATH": args.instance,
        "SECRET_KEY": args.secret,
        "SQLALCHEMY_DATABASE_URI": args.database,
        "SOCKETIO_MESSAGE_QUEUE": args.queue,
        "SEARCH_BACKEND": "whoosh" if args.search_index else "memory",
        "SEARCH_INDEX_PATH": args.search_index,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://localhost",
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        **settings,
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
