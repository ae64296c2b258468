// @ts-check
/**
 * A stand-in OTLP/HTTP backend: HTTPS, run by tests/runtime.otel.test.ts inside
 * a test VPS on the "internet" side of the egress proxy (the node stand-in
 * image), so nothing leaves the machine.
 *
 *   node otlpStandin.js CONFIG.json
 *   CONFIG: { port, cert, key, log }
 *
 * Every request is appended to `log` as one JSON line (method, path, peer,
 * content type and encoding, the body as base64, exactly as it arrived): the
 * suite decodes what the backend received. Every POST is answered 200 with an
 * empty protobuf body (an Export*ServiceResponse with nothing rejected).
 */
"use strict";
const fs = require("node:fs");
const https = require("node:https");

const config = JSON.parse(fs.readFileSync(process.argv[2] ?? "", "utf8"));

https.createServer({ cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) }, (req, res) => {
  const chunks = /** @type {Buffer[]} */ ([]);
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    fs.appendFileSync(config.log, JSON.stringify({
      at: new Date().toISOString(), method: req.method, path: req.url, peer: req.socket.remoteAddress,
      contentType: req.headers["content-type"] ?? null, contentEncoding: req.headers["content-encoding"] ?? null,
      body: Buffer.concat(chunks).toString("base64"),
    }) + "\n");
    res.writeHead(req.method === "POST" ? 200 : 405, { "content-type": "application/x-protobuf" });
    res.end();
  });
}).listen(config.port, "0.0.0.0", () => console.log(`otlp stand-in listening on ${config.port}`));
