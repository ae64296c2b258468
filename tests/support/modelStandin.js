// @ts-check
/**
 * A stand-in LLM provider: an OpenAI-compatible Chat Completions endpoint over
 * HTTPS, run by the runtime suites inside a test VPS on the "internet" side of
 * the egress proxy (the node stand-in image), so nothing leaves the machine.
 *
 *   node modelStandin.js CONFIG.json
 *   CONFIG: { port, cert, key, log, model, reply, command? }
 *
 * Every request is appended to `log` as one JSON line (method, path, the
 * Authorization header, the peer's address, the parsed body): the suites
 * assert on what the provider received. Answers:
 * - GET /v1/models: the one configured model;
 * - POST .../chat/completions: when `command` is set, the request offers the
 *   `exec` tool and no tool result is in the conversation yet, a call of
 *   `exec` with that command; otherwise text: `reply`, or, after a tool
 *   result, `tool result: <its content>`. Streamed (SSE) when asked.
 */
"use strict";
const fs = require("node:fs");
const https = require("node:https");

const config = JSON.parse(fs.readFileSync(process.argv[2] ?? "", "utf8"));

/** @param {any} message */
const textOf = (message) => (typeof message.content === "string" ? message.content
  : Array.isArray(message.content) ? message.content.map((/** @type {any} */ p) => p.text ?? "").join("") : "");

/** @param {any} body @returns {{ text?: string, toolCall?: { name: string, arguments: string } }} */
function answer(body) {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const toolResults = messages.filter((/** @type {any} */ m) => m.role === "tool");
  const offersExec = (body.tools ?? []).some((/** @type {any} */ t) => t.function?.name === "exec");
  if (config.command && offersExec && toolResults.length === 0) {
    return { toolCall: { name: "exec", arguments: JSON.stringify({ command: config.command }) } };
  }
  if (toolResults.length > 0) return { text: `tool result: ${textOf(toolResults[toolResults.length - 1])}` };
  return { text: config.reply };
}

let calls = 0;
https.createServer({ cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) }, (req, res) => {
  const chunks = /** @type {Buffer[]} */ ([]);
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    let body = /** @type {any} */ (null);
    try { body = raw ? JSON.parse(raw) : null; } catch { body = raw; }
    fs.appendFileSync(config.log, JSON.stringify({
      at: new Date().toISOString(), method: req.method, path: req.url, peer: req.socket.remoteAddress,
      authorization: req.headers["authorization"] ?? null, body,
    }) + "\n");
    const json = (/** @type {number} */ status, /** @type {unknown} */ value) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.method === "GET" && /\/models$/.test(req.url ?? "")) {
      json(200, { object: "list", data: [{ id: config.model, object: "model", created: 0, owned_by: "standin" }] });
      return;
    }
    if (req.method !== "POST" || !/\/chat\/completions$/.test(req.url ?? "") || typeof body !== "object" || body === null) {
      json(404, { error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error" } });
      return;
    }
    const id = `chatcmpl-standin-${++calls}`;
    const created = Math.floor(Date.now() / 1000);
    const { text, toolCall } = answer(body);
    const finish = toolCall ? "tool_calls" : "stop";
    const toolCalls = toolCall ? [{ index: 0, id: `call_standin_${calls}`, type: "function", function: toolCall }] : undefined;
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
    if (body.stream !== true) {
      json(200, { id, object: "chat.completion", created, model: body.model, usage,
        choices: [{ index: 0, finish_reason: finish, message: { role: "assistant", content: text ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}) } }] });
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (/** @type {unknown} */ value) => res.write(`data: ${JSON.stringify(value)}\n\n`);
    const chunk = (/** @type {object} */ delta, /** @type {string | null} */ finishReason) =>
      send({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] });
    chunk({ role: "assistant", content: "" }, null);
    if (toolCalls) chunk({ tool_calls: toolCalls }, null);
    else chunk({ content: text }, null);
    chunk({}, finish);
    if (body.stream_options?.include_usage) send({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage });
    res.end("data: [DONE]\n\n");
  });
}).listen(config.port, "0.0.0.0", () => console.log(`model stand-in listening on ${config.port}`));
