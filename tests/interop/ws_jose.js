#!/usr/bin/env node
// Workspace signing keys (docs/api.md) driven by the `jose` npm library,
// as a client of Signet's server-generated key pairs would use them.
//
// Every mode reads one JSON object on stdin and prints one JSON object on
// stdout; exit 0 on success, 2 on bad input or an unexpected failure.
//
//   node tests/interop/ws_jose.js sign
//     input:  {"pem": "<PKCS#8 PEM>", "alg": "ES256"|"EdDSA"|"RS256",
//              "kid": "signing_key_...",
//              "tokens": [{"claims": {...}, "header"?: {...extra protected header}}]}
//     output: {"tokens": ["<compact JWT>", ...]}
//     The claims are signed as given (iat/exp/nbf are not added or changed).
//
//   node tests/interop/ws_jose.js remote-verify
//     input:  {"jwks_url": "http://.../v1/<ws>/jwks.json", "tokens": ["<JWT>", ...]}
//     output: {"results": [{"valid": true, "kid": ..., "alg": ..., "claims": {...}}
//                          | {"valid": false, "error": "<code>: <message>"}, ...]}
//     Verification uses createRemoteJWKSet + jwtVerify, as a relying party would.
//
//   node tests/interop/ws_jose.js jwk-to-pem
//     input:  {"keys": [JWK, ...]}
//     output: {"pems": ["<SPKI PEM>", ...]}  (importJWK + exportSPKI)
"use strict";

const jose = require("jose");

function fail(msg) {
  process.stderr.write(msg + "\n");
  process.exit(2);
}

async function sign(input) {
  if (typeof input.pem !== "string" || typeof input.alg !== "string" ||
      typeof input.kid !== "string" || !Array.isArray(input.tokens)) {
    fail("bad input: need pem, alg, kid and tokens");
  }
  const key = await jose.importPKCS8(input.pem, input.alg);
  const out = [];
  for (const t of input.tokens) {
    const header = Object.assign({ alg: input.alg, kid: input.kid, typ: "JWT" }, t.header || {});
    out.push(await new jose.SignJWT(t.claims || {}).setProtectedHeader(header).sign(key));
  }
  return { tokens: out };
}

async function remoteVerify(input) {
  if (typeof input.jwks_url !== "string" || !Array.isArray(input.tokens)) {
    fail("bad input: need jwks_url and tokens");
  }
  const jwks = jose.createRemoteJWKSet(new URL(input.jwks_url), {
    timeoutDuration: 10000,
    cooldownDuration: 0,
  });
  const results = [];
  for (const token of input.tokens) {
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks);
      results.push({ valid: true, kid: protectedHeader.kid, alg: protectedHeader.alg,
                     claims: payload });
    } catch (e) {
      results.push({ valid: false, error: String(e.code || e.name) + ": " + String(e.message) });
    }
  }
  return { results };
}

async function jwkToPem(input) {
  if (!Array.isArray(input.keys)) {
    fail("bad input: need keys");
  }
  const pems = [];
  for (const jwk of input.keys) {
    const key = await jose.importJWK(jwk, jwk.alg);
    pems.push(await jose.exportSPKI(key));
  }
  return { pems };
}

const MODES = { "sign": sign, "remote-verify": remoteVerify, "jwk-to-pem": jwkToPem };

function main() {
  const mode = MODES[process.argv[2]];
  if (!mode) {
    fail("usage: ws_jose.js sign|remote-verify|jwk-to-pem < input.json");
  }
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (e) {
      fail("bad input: " + e.message);
    }
    mode(input).then((out) => {
      process.stdout.write(JSON.stringify(out) + "\n");
      process.exit(0);
    }, (e) => fail("failed: " + (e && e.stack ? e.stack : String(e))));
  });
}

main();
