"""A TCP relay that adds a fixed delay each way: a loopback server made distant.

Every connection to the relay's port is forwarded to the target, and each
piece of data is delivered *delay* seconds after it arrived, in order, in both
directions: a delay of 10 ms gives a 20 ms round trip.  Data is never held
back for longer than that (each piece carries its own due time), so the
relay adds latency, not a bandwidth limit: a relay that slept before each
forwarded read would cap a connection at one read per delay.

Run: ``.venv/bin/python -m benchmarks.latency_relay --target 127.0.0.1:22
--delay-ms 10 [--port 0]``; it prints the port it listens on, then serves
until killed.  :func:`start_relay` runs one in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator, Sequence

_PIECE = 1 << 18


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await pieces.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivery = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(_PIECE)
            pieces.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivery
    except (OSError, asyncio.IncompleteReadError):
        delivery.cancel()
    finally:
        writer.close()


async def _serve(port: int, host: str, target_port: int, delay: float) -> None:
    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, target_port)
        except OSError:
            writer.close()
            return
        # The connection's set-up already took the delay of its first packet
        # on the real link; here the SYN is not delayed, the data is.
        await asyncio.gather(_pump(reader, up_writer, delay), _pump(up_reader, writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(connect, "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def start_relay(target: str, delay_ms: float) -> Iterator[int]:
    """Run a relay to *target* (``host:port``) in a child process; yield its port."""
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.latency_relay",
                                "--target", target, "--delay-ms", str(delay_ms)],
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the latency relay did not start (it printed {line!r})")
        yield int(line)
    finally:
        process.terminate()
        process.wait(10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--delay-ms", type=float, required=True,
                        help="milliseconds added each way (the round trip grows by twice that)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: free)")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, host, int(port), args.delay_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
