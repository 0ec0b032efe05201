"""The index writer's child process: applies the batches that writer_process.py sends it.

WriterProcess starts it as `python -m community.search.writer_child PATH`; it reads requests on
stdin and answers each on stdout (framing in writer_process.py) until its stdin closes.
"""

from __future__ import annotations

import sys

from community.search.whoosh_index import WhooshIndex
from community.search.writer_process import receive_message, send_message


def main(path: str) -> int:
    index = WhooshIndex.on_disk(path, writer_process=False)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers may reach the pipe
    while True:
        try:
            operation, payload = receive_message(requests)
        except EOFError:
            return 0
        try:
            if operation == "index":
                index.index(payload)
            elif operation == "remove":
                index.remove(payload)
            else:
                raise ValueError(f"unknown operation {operation!r}")
            answer = ("ok", "")
        except Exception as exc:  # reported to the server, whose worker logs it
            answer = ("error", f"{type(exc).__name__}: {exc}")
        send_message(answers, answer)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
