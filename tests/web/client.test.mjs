// portico.js in Node against the real gateway: results, errors as
// {code, message}, several requests in flight, per-request timeouts, and a
// reconnect after the gateway restarts on the same port. Node 20 has no
// global WebSocket: the "ws" package stands in, as the module's header says.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";

import { startPortico } from "./portico_runner.mjs";
import { Portico, PorticoError } from "../../host/gateway/web/portico.js";

const within = (ms, promise, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

test("request resolves to the result, rejects with the error's code and message", async (t) => {
  const portico = await startPortico();
  t.after(() => portico.stop());
  const client = await Portico.connect(portico.url, { WebSocket });
  t.after(() => client.close());
  assert.equal(client.state, "open");

  const roll = await client.request("dice", "4d6kh3");
  assert.equal(roll.expr, "4d6kh3");
  assert.equal(roll.rolls.length, 4);
  assert.equal(roll.terms[0].kept.length, 3);
  assert.ok(roll.total >= 3 && roll.total <= 18);

  await assert.rejects(client.request("dice", "3x6"), (error) => {
    assert.ok(error instanceof PorticoError);
    assert.equal(error.code, "bad_expression");
    assert.match(error.message, /position/);
    return true;
  });
  await assert.rejects(client.request("nope", "x"), { code: "unknown_plugin" });
  const listing = await client.request("portico", "plugins");
  assert.ok(listing.plugins.some((plugin) => plugin.name === "dice"));
});

test("many requests in flight on one connection, each answered once", async (t) => {
  const portico = await startPortico();
  t.after(() => portico.stop());
  const client = await Portico.connect(portico.url, { WebSocket });
  t.after(() => client.close());
  const rolls = await within(10000, Promise.all(Array.from({ length: 200 }, (_, i) => client.request("dice", `${1 + (i % 5)}d6`))), "200 rolls");
  rolls.forEach((roll, i) => assert.equal(roll.rolls.length, 1 + (i % 5)));
  assert.equal(client.inFlight, 0);
});

test("a request times out on the client's own deadline", async (t) => {
  const portico = await startPortico();
  const client = await Portico.connect(portico.url, { WebSocket, backoffInitialMs: 100 });
  t.after(() => client.close());
  assert.equal((await client.request("dice", "d6")).rolls.length, 1);
  // With the gateway gone no reply can come: the request waits for a
  // connection until its own deadline.
  await portico.stop();
  const started = Date.now();
  await assert.rejects(client.request("dice", "d6", { timeoutMs: 300 }), { code: "timeout" });
  assert.ok(Date.now() - started >= 290);
  assert.equal(client.inFlight, 0);
});

test("connect fails clearly when nothing listens", async () => {
  const portico = await startPortico();
  const url = portico.url;
  await portico.stop();
  await assert.rejects(Portico.connect(url, { WebSocket, connectTimeoutMs: 3000 }), { code: "connect_failed" });
});

test("with reconnect off, a dropped connection fails what is asked after it at once", async () => {
  const portico = await startPortico();
  const client = await Portico.connect(portico.url, { WebSocket, reconnect: false });
  const closed = new Promise((resolve) => client.on("state", (state) => state === "closed" && resolve()));
  assert.ok((await client.request("dice", "d20")).total >= 1);
  await portico.stop();
  await within(10000, closed, "the closed state");
  const started = Date.now();
  await assert.rejects(client.request("dice", "d6", { timeoutMs: 20000 }), { code: "disconnected" });
  assert.ok(Date.now() - started < 5000, "rejected at once, not at its timeout");
  assert.equal(client.inFlight, 0);
});

test("after the gateway restarts the client reconnects with back-off and serves again", async (t) => {
  let portico = await startPortico();
  const port = portico.port;
  const client = await Portico.connect(portico.url, { WebSocket, backoffInitialMs: 100, backoffMaxMs: 500 });
  t.after(() => client.close());
  const states = [];
  client.on("state", (state) => states.push(state));
  assert.ok((await client.request("dice", "d20")).total >= 1);

  await portico.stop();
  // What is asked while the gateway is down waits for the next connection.
  const waiting = client.request("dice", "2d6", { timeoutMs: 20000 });
  portico = await startPortico({ port });
  t.after(() => portico.stop());
  const roll = await within(20000, waiting, "the roll asked while down");
  assert.equal(roll.rolls.length, 2);
  assert.ok(states.includes("reconnecting"), `states: ${states}`);
  assert.equal(client.state, "open");
});
