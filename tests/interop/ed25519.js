#!/usr/bin/env node
// Verify Signet's Ed25519 webhook signatures ("v1a" entries of the
// webhook-signature header, API.md section 10) with Node's own crypto, as a
// receiver would: once with each key pasted as its "whpk_" public key (the
// raw 32 bytes made into a KeyObject through a JWK), once with each key of
// the endpoint's jwks.json imported by the "jose" library (importJWK).
//
// Usage:
//   node tests/interop/ed25519.js < input.json
//     input: {"msg_id": "...", "timestamp": "<unix seconds>", "payload": "...",
//             "signature": "<webhook-signature header value>",
//             "public_keys": ["whpk_...", ...], "jwks": {"keys": [...]}}
//     prints {"entries": [{"version", "whpk": [indices of public_keys that verify it],
//                          "jwks": [kids of jwks keys that verify it]}, ...]}
//     (one per entry of the header, in its order; v1 entries are listed with
//     empty matches) and exits 0; exits 2 on bad input.
"use strict";

const crypto = require("crypto");
const { importJWK } = require("jose");

function fail(msg) {
  process.stderr.write("bad input: " + msg + "\n");
  process.exit(2);
}

function whpkKey(whpk) {
  if (typeof whpk !== "string" || !whpk.startsWith("whpk_")) fail("not a whpk_ key: " + whpk);
  const raw = Buffer.from(whpk.slice(5), "base64");
  if (raw.length !== 32) fail("whpk_ key is not 32 bytes: " + whpk);
  return crypto.createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
    format: "jwk",
  });
}

async function main(input) {
  for (const f of ["msg_id", "timestamp", "payload", "signature"]) {
    if (typeof input[f] !== "string") fail("need string " + f);
  }
  const data = Buffer.from(input.msg_id + "." + input.timestamp + "." + input.payload, "utf8");
  const pub = (input.public_keys || []).map(whpkKey);
  const jwks = [];
  for (const jwk of ((input.jwks || {}).keys || [])) {
    if (jwk.alg !== "EdDSA" || jwk.kty !== "OKP" || jwk.crv !== "Ed25519") {
      fail("not an Ed25519 JWK: " + JSON.stringify(jwk));
    }
    jwks.push({ kid: jwk.kid, key: await importJWK(jwk, "EdDSA") });
  }
  const entries = [];
  for (const entry of input.signature.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0) fail("entry without a version: " + entry);
    const version = entry.slice(0, comma);
    const sig = Buffer.from(entry.slice(comma + 1), "base64");
    const out = { version, length: sig.length, whpk: [], jwks: [] };
    if (version === "v1a") {
      pub.forEach((k, i) => {
        if (crypto.verify(null, data, k, sig)) out.whpk.push(i);
      });
      for (const { kid, key } of jwks) {
        if (crypto.verify(null, data, key, sig)) out.jwks.push(kid);
      }
    }
    entries.push(out);
  }
  process.stdout.write(JSON.stringify({ entries }) + "\n");
}

const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  let input;
  try {
    input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (e) {
    fail(e.message);
  }
  main(input).catch((e) => {
    process.stderr.write(String(e && e.stack || e) + "\n");
    process.exit(3);
  });
});
