// The playground served by the gateway (GET /), in headless Chromium (Debian's
// chromium, driven by playwright-core): it loads with no console error, lists
// dice, rolls 4d6kh3 readably, shows bad_expression for 3x6, and reconnects
// after the gateway restarts. Then the same page over wss with a token in
// its address (gateway.tls + gateway.auth.jwt), as a deployed page runs.
// Then the streaming parts: odds' progress shown while it runs, and the table
// view joining a room, rolling, showing another player (portico.js in Node)
// and its rolls with their offsets, and rejoining after a restart with the
// loss said. Screenshots go to $PORTICO_ARTIFACTS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import WebSocket from "ws";

import { startPortico } from "./portico_runner.mjs";
import { Portico } from "../../host/gateway/web/portico.js";

const artifacts = process.env.PORTICO_ARTIFACTS ?? tmpdir();
mkdirSync(artifacts, { recursive: true });
const executablePath = process.env.PORTICO_CHROMIUM ?? "/usr/bin/chromium";

async function openBrowser(t, contextOptions = {}) {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"], timeout: 60000 });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 420, height: 800 }, ...contextOptions });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  page.on("console", (message) => { if (message.type() === "error") problems.push(`console: ${message.text()}`); });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return { page, problems };
}

async function send(page, payload) {
  const before = await page.locator("#history li").count();
  await page.fill("#payload", payload);
  await page.press("#payload", "Enter");
  await page.waitForFunction((n) => {
    const items = document.querySelectorAll("#history li");
    return items.length > n && items[0].dataset.outcome !== undefined;
  }, before);
  return page.locator("#history li").first();
}

test("the playground lists dice, rolls 4d6kh3, shows bad_expression, and reconnects", async (t) => {
  let portico = await startPortico();
  const port = portico.port;
  t.after(() => portico.stop());
  const { page, problems } = await openBrowser(t);

  await page.goto(`${portico.http}/`);
  await page.locator("#status[data-state=open]").waitFor();
  await page.locator("#plugin option[value=dice]").waitFor({ state: "attached" });
  assert.equal(await page.inputValue("#plugin"), "dice");
  assert.match(await page.textContent("#usage"), /4d6kh3/);

  const roll = await send(page, "4d6kh3");
  assert.equal(await roll.getAttribute("data-outcome"), "ok");
  const total = Number(await roll.locator(".total").textContent());
  assert.ok(Number.isInteger(total) && total >= 3 && total <= 18, `total ${total}`);
  assert.equal(await roll.locator(".die").count(), 4);
  assert.equal(await roll.locator(".die.dropped").count(), 1);
  assert.match(await roll.locator(".meta").first().textContent(), /\d+(\.\d)? ms/);
  // The kept dice add up to the total.
  const kept = await roll.locator(".die:not(.dropped)").allTextContents();
  assert.equal(kept.map(Number).reduce((a, b) => a + b, 0), total);

  const bad = await send(page, "3x6");
  assert.equal(await bad.getAttribute("data-code"), "bad_expression");
  assert.match(await bad.locator(".error").textContent(), /^bad_expression: /);
  assert.deepEqual(problems, [], "no console errors while loading and using the page");
  await page.screenshot({ path: join(artifacts, "playground.png"), fullPage: true });

  // The gateway restarts on the same port: the page says so, then serves again.
  await portico.stop();
  await page.locator("#status[data-state=reconnecting]").waitFor();
  assert.match(await page.textContent("#status"), /reconnecting/);
  portico = await startPortico({ port });
  await page.locator("#status[data-state=open]").waitFor({ timeout: 30000 });
  const again = await send(page, "d20");
  assert.equal(await again.getAttribute("data-outcome"), "ok");
  await page.screenshot({ path: join(artifacts, "playground-reconnected.png"), fullPage: true });
});

function base64url(data) {
  return Buffer.from(data).toString("base64url");
}

function hs256(secret, claims) {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

test("over wss with a token in the page's address, from an allowed origin", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "portico-wss-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", join(dir, "server.key"), "-out", join(dir, "server.pem"), "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
  const secret = "a test secret of at least thirty-two bytes";
  writeFileSync(join(dir, "secret"), secret);
  // The origin is the page's own: https://127.0.0.1:PORT, known once bound, so
  // a first run finds the port and the second listens on it.
  const probe = await startPortico();
  const port = probe.port;
  await probe.stop();
  const portico = await startPortico({
    port,
    gateway: {
      tls: { cert_file: join(dir, "server.pem"), key_file: join(dir, "server.key") },
      auth: { jwt: { algorithms: ["HS256"], secret_file: join(dir, "secret") } },
      allowed_origins: [`https://127.0.0.1:${port}`],
    },
  });
  t.after(() => portico.stop());
  const token = hs256(secret, { sub: "browser-user", exp: Math.floor(Date.now() / 1000) + 600 });
  const { page, problems } = await openBrowser(t, { ignoreHTTPSErrors: true });

  await page.goto(`https://127.0.0.1:${port}/?access_token=${token}`);
  await page.locator("#status[data-state=open]").waitFor();
  const roll = await send(page, "3d6");
  assert.equal(await roll.getAttribute("data-outcome"), "ok");
  await page.selectOption("#plugin", "portico");
  const who = await send(page, "whoami");
  assert.match(await who.locator("pre").textContent(), /"subject": "browser-user"/);
  assert.deepEqual(problems, []);
  await page.screenshot({ path: join(artifacts, "playground-wss.png"), fullPage: true });
});

test("odds shows its progress while it runs, then the estimate", async (t) => {
  const portico = await startPortico({ oddsSeconds: 2 });
  t.after(() => portico.stop());
  const { page, problems } = await openBrowser(t);
  await page.goto(`${portico.http}/`);
  await page.locator("#status[data-state=open]").waitFor();
  await page.locator("#plugin option[value=odds]").waitFor({ state: "attached" });
  await page.selectOption("#plugin", "odds");
  await page.fill("#payload", "4d6kh3");
  await page.press("#payload", "Enter");
  // While the request is pending: a live line under it, moving on.
  const pendingProgress = () => {
    const item = document.querySelector("#history li");
    const line = item?.querySelector(".progress");
    return item && item.dataset.outcome === undefined && line && /^[\d,]+ samples · mean \d/.test(line.textContent)
      ? { events: Number(item.dataset.events), line: line.textContent } : null;
  };
  const early = await (await page.waitForFunction(pendingProgress)).jsonValue();
  await page.waitForFunction((n) => Number(document.querySelector("#history li").dataset.events) > n, early.events);
  await page.screenshot({ path: join(artifacts, "playground-odds-running.png"), fullPage: true });
  await page.waitForFunction(() => document.querySelector("#history li").dataset.outcome !== undefined, null, { timeout: 20000 });
  const item = page.locator("#history li").first();
  assert.equal(await item.getAttribute("data-outcome"), "ok");
  assert.ok(Number(await item.getAttribute("data-events")) >= 2);
  assert.match(await item.locator(".progress").textContent(), /^\d+ progress events; last: [\d,]+ samples/);
  const mean = Number(await item.locator(".stat").textContent());
  assert.ok(Math.abs(mean - 12.24) < 0.2, `mean ${mean}`);
  // The distribution: one bar per total from 3 to 18.
  assert.equal(await item.locator(".bars .bar").count(), 16);
  assert.deepEqual(problems, []);
  await page.screenshot({ path: join(artifacts, "playground-odds.png"), fullPage: true });
});

test("the table view joins a room, rolls, shows another player's rolls, and rejoins after a restart", async (t) => {
  let portico = await startPortico();
  const port = portico.port;
  t.after(() => portico.stop());
  const { page, problems } = await openBrowser(t);
  await page.goto(`${portico.http}/`);
  await page.locator("#status[data-state=open]").waitFor();
  await page.locator("#table:not([hidden])").waitFor();

  // Join with the keyboard: Enter in the name; the roll box gets the focus.
  await page.fill("#table-room", "room1");
  await page.fill("#table-name", "ann");
  await page.press("#table-name", "Enter");
  await page.locator("#table[data-joined=room1]").waitFor();
  assert.match(await page.textContent("#table-where"), /at room1 as ann/);
  assert.equal(await page.evaluate(() => document.activeElement.id), "table-expr");
  const joined = page.locator("#table-feed li.presence[data-type=joined]").first();
  assert.match(await joined.textContent(), /ann joined/);
  const first = Number(await joined.getAttribute("data-offset"));
  assert.ok(Number.isSafeInteger(first) && first > 0);
  assert.equal(await page.getAttribute("#table-players li[data-name=ann]", "class"), "you");

  await page.fill("#table-expr", "4d6kh3");
  await page.press("#table-expr", "Enter");
  const mine = page.locator("#table-feed li.roll").first();
  await mine.waitFor();
  assert.equal(Number(await mine.getAttribute("data-offset")), first + 1);
  assert.equal(await mine.getAttribute("data-who"), "ann");
  assert.match(await mine.textContent(), new RegExp(`#${first + 1}`));
  assert.equal(await mine.locator(".die").count(), 4);
  assert.equal(await mine.locator(".die.dropped").count(), 1);
  const total = Number(await mine.locator(".total").textContent());
  const kept = await mine.locator(".die:not(.dropped)").allTextContents();
  assert.equal(kept.map(Number).reduce((a, b) => a + b, 0), total);

  // Another player, through portico.js in Node: the page sees them arrive and roll.
  const bob = await Portico.connect(portico.url, { WebSocket });
  t.after(() => bob.close());
  await bob.request("table", "join room1 bob");
  await page.locator("#table-players li[data-name=bob]").waitFor();
  const bobRoll = await bob.request("table", "roll room1 2d6+1");
  const theirs = page.locator(`#table-feed li.roll[data-offset="${bobRoll.offset}"]`);
  await theirs.waitFor();
  assert.equal(await theirs.getAttribute("data-who"), "bob");
  assert.equal(Number(await theirs.locator(".total").textContent()), bobRoll.total);
  assert.match(await page.textContent("#table-count"), /^2 players at room1/);
  bob.close();
  await page.locator("#table-feed li.presence[data-type=left]").waitFor();
  assert.match(await page.locator("#table-feed li.presence[data-type=left]").textContent(), /bob left \(disconnected\)/);
  assert.equal(await page.locator("#table-players li[data-name=bob]").count(), 0);
  // Newest first, one offset after another.
  const offsets = (await page.locator("#table-feed li[data-offset]").evaluateAll(
    (items) => items.map((item) => Number(item.dataset.offset)))).reverse();
  assert.deepEqual(offsets, offsets.map((_, i) => first + i), `offsets ${offsets}`);
  assert.equal(offsets.length, 5);  // ann joined, ann rolled, bob joined, bob rolled, bob left
  assert.deepEqual(problems, []);
  await page.screenshot({ path: join(artifacts, "playground-table.png"), fullPage: true });

  // The gateway restarts: the page says the connection went, rejoins with
  // the last offset it saw, and says what was lost (a new engine: reset).
  await portico.stop();
  await page.locator("#table-feed li.notice[data-kind=disconnected]").waitFor();
  assert.match(await page.locator("#table-feed li.notice[data-kind=disconnected]").textContent(),
    new RegExp(`rejoining room1 from #${offsets.at(-1)}`));
  portico = await startPortico({ port });
  await page.locator("#status[data-state=open]").waitFor({ timeout: 30000 });
  await page.locator("#table-feed li.notice[data-kind=lost]").waitFor();
  assert.match(await page.locator("#table-feed li.notice[data-kind=lost]").textContent(),
    new RegExp(`after #${offsets.at(-1)} is gone \\(reset`));
  await page.locator("#table[data-joined=room1]").waitFor();
  await page.press("#table-expr", "Enter");
  await page.waitForFunction(() => document.querySelectorAll("#table-feed li.roll[data-who=ann]").length === 2);
  // Chromium logs each refused attempt while the gateway is down; nothing else.
  assert.deepEqual(problems.filter((problem) => !/net::ERR_CONNECTION_REFUSED/.test(problem)), []);
  await page.screenshot({ path: join(artifacts, "playground-table-rejoined.png"), fullPage: true });
});
