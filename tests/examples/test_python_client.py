#!/usr/bin/python3
"""examples/python/portico_client.py against the real portico executable:
the command line (results, an error with its code, the exit status) and the
library (100 requests in flight on one connection). Paths come from ctest's
environment: PORTICO_EXECUTABLE, PORTICO_DICE_PLUGIN, PORTICO_EXAMPLE."""
import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def start_portico(directory):
    config = {
        "log_level": "warn",
        "gateway": {"listen": "127.0.0.1:0"},
        "plugins": {"dice": {"library": os.environ["PORTICO_DICE_PLUGIN"], "endpoint": "tcp://127.0.0.1:0"}},
    }
    path = os.path.join(directory, "portico.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f)
    process = subprocess.Popen([os.environ["PORTICO_EXECUTABLE"], "--config", path],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 15
    for line in process.stdout:
        if line.startswith("{") and json.loads(line).get("event") == "ready":
            return process, json.loads(line)["gateway"]["port"]
        if time.monotonic() > deadline:
            break
    process.kill()
    sys.exit("portico did not get ready")


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def main():
    example = os.environ["PORTICO_EXAMPLE"]
    with tempfile.TemporaryDirectory() as directory:
        process, port = start_portico(directory)
        try:
            url = f"ws://127.0.0.1:{port}/ws"
            run = subprocess.run([sys.executable, example, "--url", url, "dice", "3d6", "4d6kh3", "3x6"],
                                 capture_output=True, text=True, timeout=30)
            lines = dict(line.split(": ", 1) for line in run.stdout.splitlines())
            check(run.returncode == 1, f"exit status {run.returncode} with an error among the replies: {run.stderr}")
            check(json.loads(lines["3d6"])["expr"] == "3d6", run.stdout)
            check(len(json.loads(lines["4d6kh3"])["rolls"]) == 4, run.stdout)
            check(lines["3x6"].startswith("error bad_expression: "), run.stdout)

            run = subprocess.run([sys.executable, example, "--url", url, "dice", "d20"],
                                 capture_output=True, text=True, timeout=30)
            check(run.returncode == 0, run.stdout + run.stderr)

            spec = importlib.util.spec_from_file_location("portico_client", example)
            client = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(client)

            async def many():
                async with client.PorticoClient(url) as portico:
                    rolls = await asyncio.gather(*(portico.request("dice", f"{1 + i % 4}d6") for i in range(100)))
                    for i, roll in enumerate(rolls):
                        check(len(roll["rolls"]) == 1 + i % 4, f"roll {i}: {roll}")
                    try:
                        await portico.request("nope", "x")
                        check(False, "an unknown plugin was answered")
                    except client.PorticoError as error:
                        check(error.code == "unknown_plugin", error.code)

            asyncio.run(asyncio.wait_for(many(), 30))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    print("ok: the Python example rolls, reports errors by code and keeps 100 requests in flight")


if __name__ == "__main__":
    main()
