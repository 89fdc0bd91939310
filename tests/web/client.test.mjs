// portico.js in Node against the real gateway: results, errors as
// {code, message}, several requests in flight, per-request timeouts, and a
// reconnect after the gateway restarts on the same port; progress events of
// a streaming request (odds) and channel pushes (table) with offsets, and a
// resume after a dropped connection. Node 20 has no global WebSocket: the
// "ws" package stands in, as the module's header says.
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

// Waits until `check()` holds, polling; fails after `ms`.
async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("a streaming request's events reach onEvent, in order, before its reply resolves", async (t) => {
  const portico = await startPortico({ oddsSeconds: 0.5 });
  t.after(() => portico.stop());
  const client = await Portico.connect(portico.url, { WebSocket });
  t.after(() => client.close());
  const seen = [];
  const frames = [];
  const odds = client.request("odds", "4d6kh3", {
    onEvent: (event, frame) => { seen.push(event); frames.push(frame); },
  }).then((result) => { seen.push("reply"); return result; });
  // Another request in flight meanwhile is answered on its own.
  const roll = await client.request("dice", "2d6");
  assert.equal(roll.rolls.length, 2);
  const result = await within(10000, odds, "the odds reply");
  assert.equal(seen.at(-1), "reply");
  const events = seen.slice(0, -1);
  assert.ok(events.length >= 2, `events: ${events.length}`);
  for (const frame of frames) {
    assert.equal(frame.plugin, "odds");
    assert.equal(typeof frame.id, "number");
  }
  let samples = 0;
  for (const event of events) {
    assert.ok(event.samples > samples, "progress, in order");
    samples = event.samples;
    assert.ok(event.mean >= 3 && event.mean <= 18);
  }
  assert.equal(result.expr, "4d6kh3");
  assert.ok(result.samples >= samples);
  assert.equal(result.stopped, "max_seconds");
  assert.ok(Math.abs(result.mean - 12.24) < 0.1, `mean ${result.mean}`);
  // Nothing comes after the reply; and a request without onEvent resolves
  // to its result, never to one of its events.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(seen.at(-1), "reply");
  const plain = await client.request("odds", "2d6", { timeoutMs: 10000 });
  assert.equal(plain.expr, "2d6");
  assert.equal(plain.stopped, "max_seconds");
  assert.equal(client.inFlight, 0);
});

test("two clients at one table room see each other's rolls, pushed with consecutive offsets", async (t) => {
  const portico = await startPortico();
  t.after(() => portico.stop());
  const ann = await Portico.connect(portico.url, { WebSocket });
  t.after(() => ann.close());
  const bob = await Portico.connect(portico.url, { WebSocket });
  t.after(() => bob.close());
  const log = { ann: [], bob: [] };
  for (const [name, client] of [["ann", ann], ["bob", bob]]) {
    client.on("push", (push) => log[name].push({ kind: "push", ...push }));
    client.on("subscribed", (event) => log[name].push({ kind: "subscribed", ...event }));
    client.on("unsubscribed", (event) => log[name].push({ kind: "unsubscribed", ...event }));
  }
  const pushes = (name) => log[name].filter((entry) => entry.kind === "push");

  // The join's reply is its result: neither the subscribed frame nor the
  // push (both with the room's channel, the first with the join's id) is.
  const annJoin = await ann.request("table", "join room1 ann");
  assert.equal(annJoin.room, "room1");
  assert.equal(annJoin.you, "ann");
  assert.deepEqual(annJoin.players, ["ann"]);
  const [subscribed, joined] = log.ann;
  assert.equal(subscribed.kind, "subscribed");
  assert.equal(subscribed.plugin, "table");
  assert.equal(subscribed.channel, "room1");
  assert.equal(subscribed.lost, undefined);
  assert.ok(Number.isSafeInteger(subscribed.next));
  const first = subscribed.next;
  assert.deepEqual(joined, { kind: "push", plugin: "table", channel: "room1", offset: first, missed: 0,
    data: { type: "joined", room: "room1", who: "ann" } });
  assert.deepEqual(ann.subscriptions, [{ plugin: "table", channel: "room1", next: first }]);

  const bobJoin = await bob.request("table", "join room1 bob");
  assert.deepEqual([...bobJoin.players].sort(), ["ann", "bob"]);
  const annRoll = await ann.request("table", "roll room1 4d6kh3");
  const bobRoll = await bob.request("table", "roll room1 2d6+1");
  assert.equal(annRoll.who, "ann");
  assert.equal(annRoll.offset, first + 2);
  assert.equal(bobRoll.offset, first + 3);
  await until(() => pushes("ann").length >= 4 && pushes("bob").length >= 3, 5000, "the pushes");

  assert.deepEqual(pushes("ann").map((push) => push.offset), [first, first + 1, first + 2, first + 3]);
  assert.deepEqual(pushes("bob").map((push) => push.offset), [first + 1, first + 2, first + 3]);
  assert.deepEqual(pushes("ann").map((push) => `${push.data.type} ${push.data.who}`),
    ["joined ann", "joined bob", "roll ann", "roll bob"]);
  // Each sees the other's roll as the roller's own reply has it.
  const annSeenByBob = pushes("bob")[1].data;
  const bobSeenByAnn = pushes("ann")[3].data;
  for (const key of ["expr", "rolls", "kept", "total", "terms"]) {
    assert.deepEqual(annSeenByBob[key], annRoll[key], key);
    assert.deepEqual(bobSeenByAnn[key], bobRoll[key], key);
  }
  assert.equal(annSeenByBob.kept.length, 3);
  assert.equal(bobSeenByAnn.total, bobSeenByAnn.rolls[0] + bobSeenByAnn.rolls[1] + 1);
  assert.equal(ann.lastOffset("table", "room1"), first + 3);
  assert.equal(bob.lastOffset("table", "room1"), first + 3);
  assert.equal(ann.lastOffset("table", "room2"), undefined);

  // Bob leaves: he hears unsubscribed (his request's, no error), ann the left push.
  assert.equal((await bob.request("table", "leave room1")).left, "room1");
  const ended = log.bob.at(-1);
  assert.equal(ended.kind, "unsubscribed");
  assert.equal(ended.channel, "room1");
  assert.equal(ended.error, undefined);
  assert.equal(typeof ended.id, "number");
  assert.deepEqual(bob.subscriptions, []);
  await until(() => pushes("ann").length >= 5, 5000, "the left push");
  assert.deepEqual(pushes("ann")[4].data, { type: "left", room: "room1", who: "bob" });
  assert.equal(pushes("ann")[4].offset, first + 4);
  assert.deepEqual((await ann.request("table", "who room1")).players, ["ann"]);
  assert.equal(ann.inFlight, 0);
});

test("after a dropped connection a client resumes its channel from lastOffset: nothing twice, nothing skipped", async (t) => {
  const portico = await startPortico();
  t.after(() => portico.stop());
  // A WebSocket whose connections the test can cut, as a network would.
  const sockets = [];
  class CuttableWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  }
  const ann = await Portico.connect(portico.url, { WebSocket: CuttableWebSocket, backoffInitialMs: 100, backoffMaxMs: 200 });
  t.after(() => ann.close());
  const bob = await Portico.connect(portico.url, { WebSocket });
  t.after(() => bob.close());
  const annPushes = [];
  const bobPushes = [];
  const annNotices = [];
  ann.on("push", (push) => annPushes.push(push));
  bob.on("push", (push) => bobPushes.push(push));
  ann.on("subscribed", (event) => annNotices.push({ kind: "subscribed", ...event }));
  ann.on("unsubscribed", (event) => annNotices.push({ kind: "unsubscribed", ...event }));

  await ann.request("table", "join room1 ann");
  await bob.request("table", "join room1 bob");
  await ann.request("table", "roll room1 d20");
  await until(() => annPushes.length === 3, 5000, "ann's pushes");
  const seen = ann.lastOffset("table", "room1");
  assert.equal(seen, annPushes[2].offset);

  const reopened = new Promise((resolve) => ann.on("state", (state) => state === "open" && resolve()));
  sockets.at(-1).terminate();
  // The client says the subscription ended with its connection, and keeps the offset.
  await until(() => annNotices.some((notice) => notice.kind === "unsubscribed"), 5000, "unsubscribed");
  const ended = annNotices.find((notice) => notice.kind === "unsubscribed");
  assert.equal(ended.channel, "room1");
  assert.equal(ended.error.code, "disconnected");
  assert.deepEqual(ann.subscriptions, []);
  assert.equal(ann.lastOffset("table", "room1"), seen);
  // Meanwhile the room goes on: ann's old seat is freed, bob rolls twice.
  await until(() => bobPushes.some((push) => push.data.type === "left" && push.data.who === "ann"), 5000, "ann left");
  await bob.request("table", "roll room1 3d6");
  await bob.request("table", "roll room1 1d4");
  await within(10000, reopened, "the reconnect");

  await ann.request("table", `join room1 ann ${ann.lastOffset("table", "room1")}`);
  const resumed = annNotices.at(-1);
  assert.equal(resumed.kind, "subscribed");
  assert.equal(resumed.lost, undefined, "the history reaches back");
  await until(() => annPushes.length >= 7, 5000, "the replay and ann's arrival");
  const offsets = annPushes.map((push) => push.offset);
  assert.deepEqual(offsets, offsets.map((_, i) => offsets[0] + i), `consecutive: ${offsets}`);
  assert.deepEqual(annPushes.slice(3).map((push) => `${push.data.type} ${push.data.who}`),
    ["left ann", "roll bob", "roll bob", "joined ann"]);
  assert.equal(annPushes[3].data.reason, "disconnected");
  assert.equal(ann.lastOffset("table", "room1"), offsets.at(-1));

  // A resume the history cannot serve says so: an offset this engine never sent.
  const cat = await Portico.connect(portico.url, { WebSocket });
  t.after(() => cat.close());
  const catNotices = [];
  cat.on("subscribed", (event) => catNotices.push(event));
  await cat.request("table", "join room1 cat 5");
  assert.equal(catNotices[0].lost, "reset");
  // Live from `next` on: its own arrival, at `next`, is the last it saw.
  assert.equal(cat.lastOffset("table", "room1"), catNotices[0].next);
});
