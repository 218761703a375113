#!/usr/bin/env node
// Key pairs, RFC 7638 thumbprints and compact JWSs made by the `jose` npm
// library (v5), for the enterprise webhook signing-key tests (docs/api.md,
// Enterprise webhook signing keys).  One process does a whole batch, so
// that a test module pays for node's start and for RSA key generation once.
//
// Usage: node tests/interop/ent_jose.js < batch.json
//   batch: {"ops": [op, ...]}; prints {"results": [result, ...]} (same order)
//   and exits 0; exits 2 on bad input, 1 when jose throws.
// Ops:
//   {"op": "keypair", "alg": "ES256", "kid"?: "...", "crv"?: "Ed448",
//    "modulusLength"?: 3072, "setAlg"?: true}
//       -> {"public": JWK, "private": JWK, "thumbprint": "..."}
//      The JWKs carry kid (when given) and alg (unless setAlg is false).
//   {"op": "rsa", "bits": 1024, "kid"?: "..."}
//       -> {"public": JWK}   (node:crypto: jose refuses to make short keys)
//   {"op": "thumbprint", "jwk": JWK} -> {"thumbprint": "..."}
//   {"op": "sign", "alg": "...", "jwk": private JWK, "header"?: {...},
//    "payload": string, "detached"?: false}
//      ("key": i instead of "jwk": the private JWK of the batch's op i, a
//      keypair; sign and verify ops run after every other op of the batch)
//       -> {"jws": compact JWS}   header: alg and extra members (kid, ...);
//      detached: the payload part emptied (RFC 7515 appendix F);
//      "crit"?: {"name": true} lets jose sign a header whose crit lists name.
//   {"op": "verify", "jws": "...", "jwk": public JWK, "alg": "...",
//    "payload"?: string (detached)} -> {"valid": bool, "error"?: "..."}
//      ("key": i instead of "jwk": the public JWK of op i)
"use strict";

const crypto = require("node:crypto");
const jose = require("jose");

async function keypair(op) {
  const opts = { extractable: true };
  if (op.crv) opts.crv = op.crv;
  if (op.modulusLength) opts.modulusLength = op.modulusLength;
  const { publicKey, privateKey } = await jose.generateKeyPair(op.alg, opts);
  const pub = await jose.exportJWK(publicKey);
  const priv = await jose.exportJWK(privateKey);
  for (const jwk of [pub, priv]) {
    if (op.kid !== undefined) jwk.kid = op.kid;
    if (op.setAlg !== false) jwk.alg = op.alg;
  }
  return { public: pub, private: priv,
    thumbprint: await jose.calculateJwkThumbprint(pub, "sha256") };
}

function rsa(op) {
  const { publicKey } = crypto.generateKeyPairSync("rsa",
    { modulusLength: op.bits, publicExponent: 0x10001 });
  const pub = publicKey.export({ format: "jwk" });
  if (op.kid !== undefined) pub.kid = op.kid;
  return { public: pub };
}

async function sign(op) {
  const key = await jose.importJWK(op.jwk, op.alg);
  const header = Object.assign({}, op.header || {}, { alg: op.alg });
  const jws = await new jose.CompactSign(new TextEncoder().encode(op.payload))
    .setProtectedHeader(header).sign(key, op.crit ? { crit: op.crit } : undefined);
  if (!op.detached) return { jws };
  const [h, , s] = jws.split(".");
  return { jws: h + ".." + s };
}

async function verify(op) {
  const key = await jose.importJWK(op.jwk, op.alg);
  let jws = op.jws;
  if (op.payload !== undefined) {
    const [h, , s] = jws.split(".");
    jws = h + "." + jose.base64url.encode(op.payload) + "." + s;
  }
  try {
    await jose.compactVerify(jws, key, { algorithms: [op.alg] });
    return { valid: true };
  } catch (e) {
    return { valid: false, error: String(e.message || e) };
  }
}

async function run(op) {
  switch (op.op) {
    case "keypair": return keypair(op);
    case "rsa": return rsa(op);
    case "thumbprint":
      return { thumbprint: await jose.calculateJwkThumbprint(op.jwk, "sha256") };
    case "sign": return sign(op);
    case "verify": return verify(op);
    default: throw new Error("unknown op " + JSON.stringify(op.op));
  }
}

function main() {
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", async () => {
    let batch;
    try {
      batch = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      if (!Array.isArray(batch.ops)) throw new Error("need {\"ops\": [...]}");
    } catch (e) {
      process.stderr.write("bad input: " + e.message + "\n");
      process.exit(2);
    }
    try {
      const late = (op) => op.op === "sign" || op.op === "verify";
      const results = new Array(batch.ops.length);
      await Promise.all(batch.ops.map(async (op, i) => {
        if (!late(op)) results[i] = await run(op);
      }));
      await Promise.all(batch.ops.map(async (op, i) => {
        if (!late(op)) return;
        if (op.key !== undefined) {
          const kp = results[op.key];
          if (!kp || !kp.private) throw new Error("op " + i + ": key " + op.key + " is not a keypair");
          op = Object.assign({}, op, { jwk: op.op === "sign" ? kp.private : kp.public });
        }
        results[i] = await run(op);
      }));
      process.stdout.write(JSON.stringify({ results }) + "\n");
      process.exit(0);
    } catch (e) {
      process.stderr.write("jose failed: " + (e.stack || e) + "\n");
      process.exit(1);
    }
  });
}

main();
