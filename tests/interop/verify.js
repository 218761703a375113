#!/usr/bin/env node
// Verify a Signet-made webhook signature with the official Standard Webhooks
// library (npm "standardwebhooks"), as a receiver of Signet's webhooks would.
//
// Usage:
//   node tests/interop/verify.js < input.json
//     input: {"secret": "whsec_...", "payload": "...",
//             "headers": {"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...}}
//     prints {"valid": true} and exits 0 when the library accepts it,
//     prints {"valid": false, "error": "..."} and exits 1 when it refuses it,
//     exits 2 on bad input.
//   node tests/interop/verify.js --sign < input.json
//     input: {"secret": "whsec_...", "msg_id": "...", "timestamp": <unix seconds>, "payload": "..."}
//     prints {"signature": "v1,..."} made by the library.
//   node tests/interop/verify.js --self-test
//     checks the library against the Standard Webhooks test vector; exit 0 if it matches.
"use strict";

const { Webhook } = require("standardwebhooks");

function selfTest() {
  const wh = new Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const sig = wh.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", new Date(1614265330 * 1000),
    '{"test": 2432232314}');
  const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  process.stdout.write(JSON.stringify({ signature: sig, expected: want, ok: sig === want }) + "\n");
  process.exit(sig === want ? 0 : 1);
}

function readInput(then) {
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (e) {
      process.stderr.write("bad input: " + e.message + "\n");
      process.exit(2);
    }
    then(input);
  });
}

function sign(input) {
  if (typeof input.secret !== "string" || typeof input.msg_id !== "string" ||
      !Number.isInteger(input.timestamp) || typeof input.payload !== "string") {
    process.stderr.write("bad input: need secret, msg_id, timestamp, payload\n");
    process.exit(2);
  }
  const wh = new Webhook(input.secret);
  const signature = wh.sign(input.msg_id, new Date(input.timestamp * 1000), input.payload);
  process.stdout.write(JSON.stringify({ signature }) + "\n");
  process.exit(0);
}

function verify(input) {
  if (typeof input.secret !== "string" || typeof input.payload !== "string" ||
      typeof input.headers !== "object" || input.headers === null) {
    process.stderr.write("bad input: need secret, payload and headers\n");
    process.exit(2);
  }
  try {
    const wh = new Webhook(input.secret);
    wh.verify(input.payload, input.headers);
    process.stdout.write(JSON.stringify({ valid: true }) + "\n");
    process.exit(0);
  } catch (e) {
    process.stdout.write(JSON.stringify({ valid: false, error: String(e.message || e) }) + "\n");
    process.exit(1);
  }
}

function main() {
  const mode = process.argv[2];
  if (mode === "--self-test") {
    selfTest();
  } else if (mode === "--sign") {
    readInput(sign);
  } else if (mode === undefined) {
    readInput(verify);
  } else {
    process.stderr.write("usage: verify.js [--sign | --self-test] < input.json\n");
    process.exit(2);
  }
}

main();
