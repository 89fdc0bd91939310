#!/usr/bin/python3
"""The Debian package, built with CPack from this build and checked as a
user receives it: its name, its control fields and files, the systemd unit's
hardening, and the installed binary on the installed config, extracted into
a scratch root (dpkg-deb -x). With CI=true and as root it is also installed
for real with dpkg -i (its postinst makes the portico user), run from /usr,
started as its systemd unit says (the unit's ExecStart as its User and Group,
without new privileges; this CI has no systemd to do it) and reloaded with
the unit's ExecReload, then purged again.

    test_deb.py BUILD_DIR"""
import asyncio
import glob
import json
import os
import re
import shlex
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websockets


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def run(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300, **kwargs)


def serve_and_roll(binary, config_path, directory):
    """Runs BINARY on a copy of CONFIG_PATH moved to free ports; rolls dice."""
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    config["gateway"]["listen"] = "127.0.0.1:0"
    for plugin in config["plugins"].values():
        plugin["endpoint"] = "tcp://127.0.0.1:0"
    test_config = os.path.join(directory, "portico-test.json")
    with open(test_config, "w", encoding="utf-8") as f:
        json.dump(config, f)
    process = subprocess.Popen([binary, "--config", test_config], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 20
        for line in process.stdout:
            if line.startswith("{") and json.loads(line).get("event") == "ready":
                port = json.loads(line)["gateway"]["port"]
                break
            if time.monotonic() > deadline:
                break
        check(port, f"{binary} did not get ready: {process.stderr.read() if process.poll() is not None else ''}")

        async def roll():
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as socket:
                await socket.send(json.dumps({"id": 1, "plugin": "dice", "payload": "4d6kh3"}))
                return json.loads(await asyncio.wait_for(socket.recv(), 10))

        reply = asyncio.run(roll())
        check(reply["ok"] and len(reply["result"]["rolls"]) == 4, reply)
        # The installed plugins are found where the installed binary looks.
        async def plugins():
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as socket:
                await socket.send("portico plugins")
                return json.loads(await asyncio.wait_for(socket.recv(), 10))
        check(any(p["name"] == "dice" for p in asyncio.run(plugins())["plugins"]), "dice is listed")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            check(process.wait(timeout=20) == 0, "a clean exit on SIGTERM")
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def unit_settings(path):
    """The [Service] keys of a systemd unit file, the last value of each."""
    settings = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                settings[key] = value
    return settings


def http_status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def read_event(stream, name, deadline_s):
    """The first JSON event NAME on STREAM (portico's stdout), within DEADLINE_S."""
    deadline = time.monotonic() + deadline_s
    for line in stream:
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == name:
                return event
        if time.monotonic() > deadline:
            break
    return None


def start_as_service(unit_path, config_path):
    """Starts the installed portico as its unit does, checks it serves and
    reloads, and stops it with the unit's stop signal."""
    unit = unit_settings(unit_path)
    with open(config_path, encoding="utf-8") as f:
        listen = json.load(f)["gateway"]["listen"]
    host, port = listen.rsplit(":", 1)
    # The installed config's own port: another test may hold it for a moment.
    deadline = time.monotonic() + 30
    while True:
        probe = socket.socket()
        try:
            probe.bind((host, int(port)))
            break
        except OSError:
            check(time.monotonic() < deadline, f"{listen} (the installed config's gateway.listen) stays busy")
            time.sleep(0.5)
        finally:
            probe.close()
    argv = ["setpriv", f"--reuid={unit['User']}", f"--regid={unit['Group']}", "--init-groups", "--no-new-privs",
            *shlex.split(unit["ExecStart"])]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        ready = read_event(process.stdout, "ready", 20)
        check(ready, f"the service did not get ready: {process.stderr.read() if process.poll() is not None else ''}")
        check(ready["gateway"]["port"] == int(port), ready)
        check(http_status(port, "/healthz") == 200, "/healthz answers 200")
        check(http_status(port, "/readyz") == 200, "/readyz answers 200: every plugin has an engine")

        async def roll():
            async with websockets.connect(f"ws://{host}:{port}/ws") as connection:
                await connection.send("dice 2d6")
                return await asyncio.wait_for(connection.recv(), 10)
        check(re.search(r"\d", asyncio.run(roll())), "the service rolls dice")

        reload = unit["ExecReload"].replace("$MAINPID", str(process.pid))
        subprocess.run(shlex.split(reload), check=True, timeout=30)
        check(read_event(process.stdout, "reloaded", 20), "ExecReload reloads the config")

        process.send_signal(getattr(signal, unit.get("KillSignal", "SIGTERM")))
        stop_s = int(unit.get("TimeoutStopSec", "90"))
        check(process.wait(timeout=stop_s) == 0, "a clean exit on the unit's stop signal")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def main(build):
    with tempfile.TemporaryDirectory() as directory:
        run("cpack", "-B", directory, cwd=build)
        packages = glob.glob(os.path.join(directory, "portico_*_amd64.deb"))
        check(len(packages) == 1, f"one package: {os.listdir(directory)}")
        package = packages[0]
        check(re.fullmatch(r"portico_\d+\.\d+\.\d+_amd64\.deb", os.path.basename(package)), package)

        fields = run("dpkg-deb", "-f", package).stdout
        check("Package: portico" in fields, fields)
        check(re.search(r"Depends:.*libzmq5", fields), f"shared library dependencies are found: {fields}")
        check("adduser" in fields, fields)
        control = os.path.join(directory, "control")
        run("dpkg-deb", "-e", package, control)
        with open(os.path.join(control, "conffiles"), encoding="utf-8") as f:
            check(f.read().split() == ["/etc/portico/portico.json"], "the config is a conffile")
        check(os.access(os.path.join(control, "postinst"), os.X_OK), "postinst")

        files = set(line.split()[-1].lstrip(".") for line in run("dpkg-deb", "-c", package).stdout.splitlines())
        for wanted in ["/usr/bin/portico", "/usr/bin/portico-plugin-check", "/usr/bin/portico-zmq-client",
                       "/usr/lib/portico/plugins/dice.so", "/usr/lib/portico/plugins/notepad.so",
                       "/usr/include/portico/plugin.hpp", "/usr/lib/cmake/portico/portico-config.cmake",
                       "/etc/portico/portico.json", "/usr/lib/systemd/system/portico.service"]:
            check(wanted in files, f"{wanted} is in the package")

        root = os.path.join(directory, "root")
        run("dpkg-deb", "-x", package, root)
        with open(os.path.join(root, "usr/lib/systemd/system/portico.service"), encoding="utf-8") as f:
            unit = f.read()
        for line in ["User=portico", "ProtectSystem=strict", "NoNewPrivileges=true",
                     "ExecReload=/bin/kill -HUP $MAINPID", "ExecStart=/usr/bin/portico --config /etc/portico/portico.json"]:
            check(line in unit, f"the unit holds {line}")
        if shutil.which("systemd-analyze"):
            unit_copy = os.path.join(directory, "portico.service")
            shutil.copy(os.path.join(root, "usr/lib/systemd/system/portico.service"), unit_copy)
            verify = subprocess.run(["systemd-analyze", "verify", unit_copy], capture_output=True, text=True)
            check("Unknown" not in verify.stderr and "Invalid" not in verify.stderr, verify.stderr)

        serve_and_roll(os.path.join(root, "usr/bin/portico"), os.path.join(root, "etc/portico/portico.json"), directory)
        print("ok: the package's binary serves dice on its own config from a scratch root")

        if os.environ.get("CI") == "true" and os.geteuid() == 0 and not os.path.exists("/usr/bin/portico"):
            run("dpkg", "-i", package)
            try:
                check(run("getent", "passwd", "portico").stdout.startswith("portico:"), "postinst made the user")
                serve_and_roll("/usr/bin/portico", "/etc/portico/portico.json", directory)
                print("ok: installed with dpkg -i; /usr/bin/portico serves on /etc/portico/portico.json")
                start_as_service("/usr/lib/systemd/system/portico.service", "/etc/portico/portico.json")
                print("ok: started as the unit says (User, Group, no new privileges), reloaded with ExecReload, "
                      "stopped with KillSignal")
            finally:
                run("dpkg", "--purge", "portico")


if __name__ == "__main__":
    main(sys.argv[1])
