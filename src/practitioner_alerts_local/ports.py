"""The loopback ports ``serve`` listens on, checked before anything heavy starts.

Kept free of moto, boto3 and the stack, so the CLI can refuse a taken port within a second or
two instead of after importing and building everything.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Mapping

LOOPBACK = "127.0.0.1"


class ServeError(Exception):
    """serve cannot start as asked; the message is the one line the CLI prints (exit code 2)."""


class PortTaken(ServeError):
    def __init__(self, port: int, flag: str) -> None:
        super().__init__(
            f"port {port} on {LOOPBACK} is already in use (another serve?); "
            f"stop what holds it, or pick a free port with {flag} PORT"
        )
        self.port = port
        self.flag = flag


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Every ``{flag: port}`` can be listened on, or PortTaken names the first that cannot.

    Checked before anything starts: moto's server thread waits forever for a port it cannot
    bind, and the API port would fail with a traceback after the stack was built.
    """
    seen: dict[int, str] = {}
    for flag, port in ports.items():
        if port == 0:  # any free port
            continue
        if port in seen:
            raise ServeError(f"{seen[port]} and {flag} are both {port}; give each its own port")
        seen[port] = flag
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the servers themselves bind: a port left in TIME_WAIT by a previous run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((LOOPBACK, port))
            except OSError as error:
                raise PortTaken(port, flag) from error


def bind_or_port_taken[T](start: Callable[[], T], port: int, flag: str) -> T:
    """``start()``, with a port another process took since check_ports_free as PortTaken."""
    try:
        return start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortTaken(port, flag) from error
        raise
