#!/usr/bin/python3
"""A portico client in Python with asyncio and Debian's python3-websockets.

    python3 examples/python/portico_client.py [--url ws://127.0.0.1:8088/ws] [--token T] dice 3d6 4d6kh3

Sends every payload to the plugin at once, in the JSON envelope form with an
id each (docs/protocol.md), and prints each reply as it comes: the result, or
the error's code and message. Exits 1 if any reply was an error.

As a library:

    async with PorticoClient("ws://127.0.0.1:8088/ws") as portico:
        roll = await portico.request("dice", "3d6")   # or raises PorticoError
"""
import argparse
import asyncio
import itertools
import json
import sys
import urllib.parse

import websockets


class PorticoError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PorticoClient:
    """One connection; any number of requests in flight, matched to their
    replies by id; each request has a timeout."""

    def __init__(self, url, token=None, timeout=10.0):
        if token:
            parts = urllib.parse.urlsplit(url)
            query = urllib.parse.urlencode({"access_token": token})
            url = urllib.parse.urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))
        self._url = url
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._pending = {}
        self._socket = None
        self._reader = None

    async def __aenter__(self):
        self._socket = await websockets.connect(self._url, max_size=16 * 1024 * 1024)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc):
        await self._socket.close()
        await self._reader

    async def request(self, plugin, payload="", timeout=None):
        request_id = next(self._ids)
        reply = asyncio.get_running_loop().create_future()
        self._pending[request_id] = reply
        try:
            await self._socket.send(json.dumps({"id": request_id, "plugin": plugin, "payload": payload}))
            return await asyncio.wait_for(reply, timeout or self._timeout)
        except asyncio.TimeoutError:
            raise PorticoError("timeout", f"no reply from plugin {plugin!r} in time") from None
        finally:
            self._pending.pop(request_id, None)

    async def _read(self):
        try:
            async for frame in self._socket:
                reply = json.loads(frame)
                waiting = self._pending.get(reply.get("id")) if isinstance(reply, dict) else None
                if waiting is None or waiting.done():
                    continue
                if reply.get("ok"):
                    waiting.set_result(reply.get("result"))
                else:
                    error = reply.get("error", {})
                    waiting.set_exception(PorticoError(error.get("code", "error"), error.get("message", "")))
        except websockets.ConnectionClosed:
            pass
        finally:
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(PorticoError("disconnected", "the connection closed before the reply came"))


async def main():
    parser = argparse.ArgumentParser(description="Send payloads to a portico plugin and print the replies.")
    parser.add_argument("--url", default="ws://127.0.0.1:8088/ws")
    parser.add_argument("--token", help="a JWT, for a gateway with gateway.auth")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("plugin")
    parser.add_argument("payloads", nargs="+")
    args = parser.parse_args()

    failed = False
    async with PorticoClient(args.url, args.token, args.timeout) as portico:

        async def one(payload):
            nonlocal failed
            try:
                result = await portico.request(args.plugin, payload)
                print(f"{payload}: {json.dumps(result)}", flush=True)
            except PorticoError as error:
                failed = True
                print(f"{payload}: error {error.code}: {error.message}", flush=True)

        await asyncio.gather(*(one(payload) for payload in args.payloads))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except OSError as error:
        sys.exit(f"portico_client: cannot connect: {error}")
