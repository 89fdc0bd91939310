// Starts the real portico executable for a test, on a config of its own in a
// temporary directory, and reads its ready event (docs/deployment.md) from
// stdout. Every wait is bounded; stop() ends the process (SIGTERM, then
// SIGKILL) and removes the directory. Paths come from the environment
// CTest sets: PORTICO_EXECUTABLE, PORTICO_DICE_PLUGIN, PORTICO_ODDS_PLUGIN,
// PORTICO_TABLE_PLUGIN.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run the test through ctest)`);
  return value;
}

// Every portico serves dice, odds and table. odds runs each estimate for
// `oddsSeconds` (it never converges at that precision), so that its
// progress events are seen while it works: one every 10 ms at most, the
// gateway's bound.
function defaultPlugins(oddsSeconds) {
  return {
    dice: { library: required("PORTICO_DICE_PLUGIN"), endpoint: "tcp://127.0.0.1:0", workers: 2 },
    odds: {
      library: required("PORTICO_ODDS_PLUGIN"), endpoint: "tcp://127.0.0.1:0", workers: 2,
      settings: { batch: 5000, max_samples: 100000000, precision: 1e-9, max_seconds: oddsSeconds },
    },
    table: { library: required("PORTICO_TABLE_PLUGIN"), endpoint: "tcp://127.0.0.1:0", workers: 2 },
  };
}

// `port` 0: any free port. `gateway`: keys merged into the gateway section;
// `plugins`: entries merged over the default plugins (a name mapped to null
// is left out).
export async function startPortico({ port = 0, gateway = {}, plugins = {}, oddsSeconds = 1, timeoutMs = 15000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "portico-web-"));
  const served = { ...defaultPlugins(oddsSeconds), ...plugins };
  for (const [name, entry] of Object.entries(served)) if (entry === null) delete served[name];
  const config = {
    log_level: "warn",
    gateway: { listen: `127.0.0.1:${port}`, ...gateway },
    plugins: served,
  };
  const configPath = join(dir, "portico.json");
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(required("PORTICO_EXECUTABLE"), ["--config", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk) => { err += chunk; });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  let ready;
  try {
    ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`portico not ready within ${timeoutMs} ms:\n${err}`)), timeoutMs);
      child.stdout.on("data", (chunk) => {
        out += chunk;
        // Whole lines only: a chunk may end inside one.
        const end = out.lastIndexOf("\n");
        if (end < 0) return;
        const lines = out.slice(0, end).split("\n");
        out = out.slice(end + 1);
        for (const line of lines) {
          if (!line.startsWith("{")) continue;
          let event;
          try { event = JSON.parse(line); } catch { continue; }
          if (event.event === "ready") {
            clearTimeout(timer);
            resolve(event);
          }
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`portico exited (${code ?? signal}) before it was ready:\n${err}`));
      });
    });
  } catch (error) {
    // Not ready: nothing of it may outlive the test.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port: ready.gateway.port,
    url: `ws://127.0.0.1:${ready.gateway.port}${ready.gateway.path}`,
    http: `http://127.0.0.1:${ready.gateway.port}`,
    log: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
