#!/usr/bin/python3
"""Walks docs/plugin-guide.md's "Five minutes to a live plugin" from a clean
home directory, running its own commands in its order, so the guide cannot
drift from what works. Changed only where a test must: the portico build is
this build (step 1 installs it instead of building again), and the config's
fixed ports become free ones.

    guide_walk.py GUIDE SOURCE_DIR BUILD_DIR"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blocks(guide):
    """The fenced blocks of the five-minute section, as (language, text)."""
    text = open(guide, encoding="utf-8").read()
    section = text.split("## Five minutes to a live plugin", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def sh(script, cwd, env, what):
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"guide_walk: {what} failed:\n$ {script}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main(guide, source, build):
    found = blocks(guide)
    kinds = [kind for kind, _ in found]
    # install, copy+rename, build+test, install the plugin, the config, go live, a WebSocket client
    if kinds[:7] != ["sh", "sh", "sh", "sh", "json", "sh", "js"]:
        sys.exit(f"guide_walk: the guide's steps changed shape: {kinds}; update this walk with it")
    install, rename, build_plugin, install_plugin, config_text, go_live = (text for _, text in found[:6])

    home = tempfile.mkdtemp(prefix="portico-guide-home-")
    env = {"HOME": home, "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    for name in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"):
        if name in os.environ:
            env[name] = os.environ[name]
    portico = None
    try:
        # Step 1, on this build rather than a second one.
        first = install.splitlines()
        if not first[0].startswith("cmake -S . -B build && cmake --build build"):
            sys.exit(f"guide_walk: step 1 changed: {first[0]}")
        sh("\n".join(line.replace("cmake --install build", f"cmake --install '{build}'") for line in first[1:]),
           source, env, "step 1 (install)")
        # Steps 2 to 4 as written: the shell of step 2 ends in ~/src/shout.
        sh(rename, source, env, "step 2 (copy and rename the template)")
        plugin_dir = os.path.join(home, "src", "shout")
        sh(build_plugin, plugin_dir, env, "step 3 (build and test)")
        sh(install_plugin, plugin_dir, env, "step 4 (install the plugin)")
        installed = os.path.join(home, "portico", "lib", "portico", "plugins", "shout.so")
        if not os.path.isfile(installed):
            sys.exit(f"guide_walk: step 4 put no shout.so in {os.path.dirname(installed)}")

        # Step 6's start command, on the config before step 5 (dice only).
        config = json.loads(config_text)
        dice_port, shout_port = free_port(), free_port()
        endpoints = {"dice": dice_port, "shout": shout_port}
        for name, entry in config["plugins"].items():
            entry["endpoint"] = re.sub(r":\d+$", f":{endpoints[name]}", entry["endpoint"])
        config["gateway"] = {"listen": "127.0.0.1:0"}
        config_path = os.path.join(home, "portico.json")
        before = {**config, "plugins": {"dice": config["plugins"]["dice"]}}
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(before, f)
        start = re.search(r"`(\$HOME/portico/bin/portico\s+--config portico.json --pid-file \"\$HOME/portico/portico.pid\")`",
                          open(guide, encoding="utf-8").read())
        if not start:
            sys.exit("guide_walk: the guide no longer says how to start portico with --pid-file")
        command = start.group(1).replace("$HOME", home).replace('"', "").split()
        portico = subprocess.Popen(command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(home, "portico", "portico.pid")):
            if time.monotonic() > deadline or portico.poll() is not None:
                sys.exit(f"guide_walk: portico did not start: {portico.stderr.read() if portico.poll() is not None else ''}")
            time.sleep(0.05)

        # Step 5 (the config with shout), then step 6's reload, as written.
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f)
        sh(go_live, home, env, "step 6 (kill -HUP)")
        client = os.path.join(home, "portico", "bin", "portico-zmq-client")
        deadline = time.monotonic() + 20
        while True:
            answer = subprocess.run([client, f"tcp://127.0.0.1:{shout_port}", "world"], capture_output=True,
                                    text=True, timeout=30)
            if '"greeting":"hey, world"' in answer.stdout:
                break
            if time.monotonic() > deadline:
                sys.exit(f"guide_walk: shout never answered as the guide says: {answer.stdout} {answer.stderr}")
            time.sleep(0.2)
        print("ok: the guide's five minutes work from a clean home: shout answers {\"greeting\":\"hey, world\"}")
    finally:
        if portico and portico.poll() is None:
            portico.terminate()
            try:
                portico.wait(timeout=20)
            except subprocess.TimeoutExpired:
                portico.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
