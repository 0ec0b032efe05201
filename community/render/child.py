"""The renderer's child process: renders each source limited.py sends it until its stdin closes."""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection

from community.render.html import render_html


def main() -> int:
    requests = Connection(os.dup(0), writable=False)
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # nothing but answers may reach the pipe
    answers.send("ready")
    while True:
        try:
            source, image_hosts = requests.recv()
        except EOFError:
            return 0
        answers.send(render_html(source, image_hosts))


if __name__ == "__main__":
    sys.exit(main())
