// The playground served by the gateway (GET /), in headless Chromium (Debian's
// chromium, driven by playwright-core): it loads with no console error, lists
// dice, rolls 4d6kh3 readably, shows bad_expression for 3x6, and reconnects
// after the gateway restarts. Then the same page over wss with a token in
// its address (gateway.tls + gateway.auth.jwt), as a deployed page runs.
// Screenshots go to $PORTICO_ARTIFACTS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { startPortico } from "./portico_runner.mjs";

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
