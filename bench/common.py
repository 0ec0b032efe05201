"""Small helpers the bench scripts share: settings from the environment, ports, stopping servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(float(raw)) if raw not in (None, "") else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a server started with start_new_session=True: its whole process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
