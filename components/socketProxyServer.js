// @ts-check
/**
 * The strict Docker socket proxy: the program the SocketProxy component runs
 * (node:20 image, plain Node, no dependencies) and tests/socketProxy.test.ts
 * runs against a fake Docker API. It lets the OpenClaw gateway create, start,
 * exec into, inspect and remove its sandbox containers, and nothing else:
 *
 * - anchored route allowlist per method; a path with `%`, `..`, `//` or any
 *   character outside [A-Za-z0-9._:/@-] is refused before matching;
 * - container create: the body is parsed, checked and re-serialized (Docker
 *   sees exactly what was checked): sandbox label and name prefix required;
 *   no privileged, no added capabilities, no devices, no host or container
 *   namespaces, network "none", binds only under the allowed roots, no named
 *   volumes, no published ports, memory capped; keys differing only in case
 *   (Go's JSON decoder matches them case-insensitively) are refused;
 * - every operation on an existing container first asks Docker for that
 *   container and proceeds only if it carries the sandbox label;
 * - exec sessions only for execs created through this proxy, never privileged;
 * - container lists are filtered to sandbox containers.
 *
 * Usage: node socketProxyServer.js POLICY.json
 * Policy: {listen:{host,port}|{path}, upstreamSocket, sandboxLabel,
 *          sandboxNamePrefix, allowedBindRoots[], maxMemoryBytes}
 */
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");

const MAX_BODY = 1024 * 1024;
const SAFE_PATH = /^[A-Za-z0-9._:/@-]*$/;
const ID = "[A-Za-z0-9][A-Za-z0-9_.-]{0,127}";

/** @typedef {{listen: {host?: string, port?: number, path?: string}, upstreamSocket: string, sandboxLabel: string, sandboxNamePrefix: string, allowedBindRoots: string[], maxMemoryBytes: number}} Policy */

/** @param {unknown} v */
const isEmpty = (v) => v === undefined || v === null || v === "" || v === false || v === 0 ||
  (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && Object.keys(v).length === 0);

/**
 * Throws when two keys of an object (at any depth) differ only in case.
 * @param {unknown} value @param {string} where
 */
function refuseCaseTwins(value, where) {
  if (Array.isArray(value)) { value.forEach((v, i) => refuseCaseTwins(v, `${where}[${i}]`)); return; }
  if (value === null || typeof value !== "object") return;
  const seen = new Set();
  for (const key of Object.keys(value)) {
    const lower = key.toLowerCase();
    if (seen.has(lower)) throw new Error(`ambiguous key ${where}.${key}`);
    seen.add(lower);
    refuseCaseTwins(/** @type {Record<string, unknown>} */ (value)[key], `${where}.${key}`);
  }
}

/**
 * A field looked up the way Docker's Go decoder would: exact, else case-insensitive.
 * @param {Record<string, unknown>} obj @param {string} key
 */
function field(obj, key) {
  if (key in obj) return obj[key];
  const found = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : obj[found];
}

/** @param {string} p @param {string[]} roots */
function underRoots(p, roots) {
  if (!p.startsWith("/") || p.includes("\0")) return false;
  if (path.posix.normalize(p) !== p) return false;
  return roots.some((root) => p === root || p.startsWith(root.endsWith("/") ? root : `${root}/`));
}

/**
 * Checks a container-create request. Returns the body to forward.
 * @param {Policy} policy @param {URLSearchParams} query @param {unknown} body
 */
function checkCreate(policy, query, body) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new Error("body must be a JSON object");
  refuseCaseTwins(body, "body");
  const spec = /** @type {Record<string, unknown>} */ (body);
  const name = query.get("name") ?? "";
  if (!name.startsWith(policy.sandboxNamePrefix)) throw new Error(`container name must start with ${policy.sandboxNamePrefix}`);
  const labels = /** @type {Record<string, unknown>} */ (field(spec, "Labels") ?? {});
  if (field(labels, policy.sandboxLabel) !== "1") throw new Error(`label ${policy.sandboxLabel}=1 required`);
  const host = /** @type {Record<string, unknown>} */ (field(spec, "HostConfig") ?? {});
  if (typeof host !== "object" || host === null || Array.isArray(host)) throw new Error("HostConfig must be an object");

  const mustBeEmpty = ["Privileged", "CapAdd", "Devices", "DeviceRequests", "DeviceCgroupRules", "VolumesFrom", "Sysctls",
    "PortBindings", "PublishAllPorts", "Links", "CgroupParent", "Cgroup", "VolumeDriver"];
  for (const key of mustBeEmpty) {
    if (!isEmpty(field(host, key))) throw new Error(`HostConfig.${key} is not allowed`);
  }
  // Even an empty list matters here: [] unmasks /proc and /sys paths (systempaths=unconfined).
  for (const key of ["MaskedPaths", "ReadonlyPaths"]) {
    if (field(host, key) !== undefined && field(host, key) !== null) throw new Error(`HostConfig.${key} is not allowed`);
  }
  for (const key of ["PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"]) {
    const mode = String(field(host, key) ?? "");
    if (mode === "host" || mode.startsWith("container:")) throw new Error(`HostConfig.${key}=${mode} is not allowed`);
  }
  if (String(field(host, "NetworkMode") ?? "") !== "none") throw new Error("HostConfig.NetworkMode must be none");
  if (!isEmpty(field(spec, "NetworkingConfig"))) {
    const endpoints = field(/** @type {Record<string, unknown>} */ (field(spec, "NetworkingConfig")), "EndpointsConfig");
    if (!isEmpty(endpoints) && Object.keys(/** @type {object} */ (endpoints)).some((n) => n !== "none")) throw new Error("networks other than none are not allowed");
  }
  const runtime = String(field(host, "Runtime") ?? "");
  if (runtime !== "" && runtime !== "runc") throw new Error(`HostConfig.Runtime=${runtime} is not allowed`);
  const securityOpt = /** @type {unknown[]} */ (field(host, "SecurityOpt") ?? []);
  if (!Array.isArray(securityOpt)) throw new Error("HostConfig.SecurityOpt must be a list");
  for (const opt of securityOpt) {
    if (/unconfined|label[:=]disable|no-new-privileges[:=]false/i.test(String(opt))) throw new Error(`security option ${opt} is not allowed`);
  }
  const binds = /** @type {unknown[]} */ (field(host, "Binds") ?? []);
  if (!Array.isArray(binds)) throw new Error("HostConfig.Binds must be a list");
  for (const bind of binds) {
    const source = String(bind).split(":")[0] ?? "";
    if (!underRoots(source, policy.allowedBindRoots)) throw new Error(`bind ${source} is outside the sandbox workspace`);
  }
  const mounts = /** @type {unknown[]} */ (field(host, "Mounts") ?? []);
  if (!Array.isArray(mounts)) throw new Error("HostConfig.Mounts must be a list");
  for (const m of mounts) {
    const mount = /** @type {Record<string, unknown>} */ (m ?? {});
    const type = String(field(mount, "Type") ?? "");
    if (type === "tmpfs") continue;
    if (type !== "bind") throw new Error(`mount type ${type || "(none)"} is not allowed`);
    if (!underRoots(String(field(mount, "Source") ?? ""), policy.allowedBindRoots)) throw new Error(`bind ${field(mount, "Source")} is outside the sandbox workspace`);
  }
  const memory = Number(field(host, "Memory") ?? 0);
  if (!(memory > 0 && memory <= policy.maxMemoryBytes)) throw new Error(`HostConfig.Memory must be set and at most ${policy.maxMemoryBytes}`);
  return JSON.stringify(body);
}

/** @param {unknown} body */
function checkExecCreate(body) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new Error("body must be a JSON object");
  refuseCaseTwins(body, "body");
  if (!isEmpty(field(/** @type {Record<string, unknown>} */ (body), "Privileged"))) throw new Error("privileged exec is not allowed");
  return JSON.stringify(body);
}

/**
 * The route table: which method+path may pass, and what must hold first.
 * @typedef {{method: string[], pattern: RegExp, kind: "plain"|"create"|"container"|"exec-create"|"exec"|"list"}} Route
 * @type {Route[]}
 */
const ROUTES = [
  { method: ["GET", "HEAD"], pattern: /^\/_ping$/, kind: "plain" },
  { method: ["GET"], pattern: /^\/version$/, kind: "plain" },
  { method: ["GET"], pattern: /^\/images\/[A-Za-z0-9._/:@-]+\/json$/, kind: "plain" },
  { method: ["GET"], pattern: /^\/containers\/json$/, kind: "list" },
  { method: ["POST"], pattern: /^\/containers\/create$/, kind: "create" },
  { method: ["GET"], pattern: new RegExp(`^/containers/(${ID})/(json|logs)$`), kind: "container" },
  { method: ["POST"], pattern: new RegExp(`^/containers/(${ID})/(start|stop|kill|wait|resize|attach)$`), kind: "container" },
  { method: ["GET", "HEAD", "PUT"], pattern: new RegExp(`^/containers/(${ID})/archive$`), kind: "container" },
  { method: ["DELETE"], pattern: new RegExp(`^/containers/(${ID})$`), kind: "container" },
  { method: ["POST"], pattern: new RegExp(`^/containers/(${ID})/exec$`), kind: "exec-create" },
  { method: ["POST"], pattern: new RegExp(`^/exec/(${ID})/(start|resize)$`), kind: "exec" },
  { method: ["GET"], pattern: new RegExp(`^/exec/(${ID})/json$`), kind: "exec" },
];

/**
 * Matches a request to a route. Returns the route and the captured id, or a reason.
 * @param {string} method @param {string} rawUrl
 * @returns {{route: Route, id?: string, path: string, query: URLSearchParams} | {reason: string}}
 */
function matchRoute(method, rawUrl) {
  const q = rawUrl.indexOf("?");
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q === -1 ? "" : rawUrl.slice(q + 1));
  if (!SAFE_PATH.test(rawPath) || rawPath.includes("..") || rawPath.includes("//")) return { reason: "path has characters or segments that are not allowed" };
  const p = rawPath.replace(/^\/v[0-9]+\.[0-9]+(?=\/)/, "");
  for (const route of ROUTES) {
    const m = route.pattern.exec(p);
    if (!m) continue;
    if (!route.method.includes(method)) return { reason: `${method} is not allowed on ${p}` };
    return { route, id: m[1], path: p, query };
  }
  return { reason: `${p} is not allowed` };
}

/** @param {Policy} policy */
function createProxy(policy) {
  /** Exec ids created through this proxy, for sandbox containers only. */
  const ownExecs = new Set();

  /** @param {string} method @param {string} url @param {string=} body */
  function upstream(method, url, body) {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: policy.upstreamSocket, method, path: url, headers: body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        const chunks = /** @type {Buffer[]} */ ([]);
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  /** @param {string} id */
  async function isSandbox(id) {
    const res = /** @type {{status: number, body: Buffer}} */ (await upstream("GET", `/containers/${encodeURIComponent(id)}/json`));
    if (res.status !== 200) return false;
    const info = JSON.parse(res.body.toString("utf8"));
    return info?.Config?.Labels?.[policy.sandboxLabel] === "1" && String(info?.Name ?? "").replace(/^\//, "").startsWith(policy.sandboxNamePrefix);
  }

  /** @param {http.ServerResponse} res @param {number} status @param {string} message */
  function refuse(res, status, message) {
    process.stderr.write(`socket-proxy: refused: ${message}\n`);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: `socket-proxy: ${message}` }));
  }

  /** @param {http.IncomingMessage} req */
  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = /** @type {Buffer[]} */ ([]);
      let size = 0;
      req.on("data", (c) => { size += c.length; if (size > MAX_BODY) { reject(new Error("body too large")); req.destroy(); } else chunks.push(c); });
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });
  }

  /**
   * Decides a request; returns the body to forward (or undefined for none).
   * @param {http.IncomingMessage} req @param {string} rawBody
   */
  async function authorize(req, rawBody) {
    const match = matchRoute(req.method ?? "", req.url ?? "");
    if ("reason" in match) throw Object.assign(new Error(match.reason), { status: 403 });
    const parse = () => { try { return JSON.parse(rawBody || "{}"); } catch { throw Object.assign(new Error("body is not JSON"), { status: 400 }); } };
    switch (match.route.kind) {
      case "plain":
      case "list":
        return { match, body: undefined };
      case "create":
        return { match, body: checkCreate(policy, match.query, parse()) };
      case "container":
        if (!(await isSandbox(match.id ?? ""))) throw Object.assign(new Error(`container ${match.id} is not a sandbox`), { status: 403 });
        return { match, body: req.method === "PUT" ? rawBody : undefined };
      case "exec-create":
        if (!(await isSandbox(match.id ?? ""))) throw Object.assign(new Error(`container ${match.id} is not a sandbox`), { status: 403 });
        return { match, body: checkExecCreate(parse()) };
      case "exec":
        if (!ownExecs.has(match.id)) throw Object.assign(new Error(`exec ${match.id} was not created through this proxy`), { status: 403 });
        return { match, body: rawBody === "" ? undefined : JSON.stringify(parse()) };
    }
  }

  const server = http.createServer(async (req, res) => {
    try {
      const rawBody = await readBody(req);
      const { match, body } = await authorize(req, rawBody);
      const forwardBody = body ?? (rawBody === "" ? undefined : rawBody);
      const result = /** @type {{status: number, headers: http.IncomingHttpHeaders, body: Buffer}} */ (await upstream(req.method ?? "GET", req.url ?? "/", match.route.kind === "container" && req.method === "PUT" ? undefined : forwardBody));
      let out = result.body;
      if (match.route.kind === "exec-create" && result.status === 201) ownExecs.add(JSON.parse(out.toString("utf8")).Id);
      if (match.route.kind === "list" && result.status === 200) {
        const list = JSON.parse(out.toString("utf8"));
        out = Buffer.from(JSON.stringify(list.filter((/** @type {any} */ c) => c?.Labels?.[policy.sandboxLabel] === "1")));
      }
      const headers = { ...result.headers, "content-length": String(out.length) };
      delete headers["transfer-encoding"];
      res.writeHead(result.status, headers);
      res.end(out);
    } catch (err) {
      const e = /** @type {{status?: number, message: string}} */ (err);
      refuse(res, e.status ?? 403, e.message);
    }
  });

  // attach and exec start hijack the connection (Upgrade: tcp): check, then splice raw sockets.
  server.on("upgrade", async (req, socket, head) => {
    try {
      const { match } = await authorize(req, "");
      if (match.route.kind !== "exec" && match.route.kind !== "container") throw new Error("upgrade not allowed here");
      const net = require("node:net");
      const up = net.createConnection(policy.upstreamSocket, () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        up.write(lines.join("\r\n") + "\r\n\r\n");
        if (head.length > 0) up.write(head);
        socket.pipe(up).pipe(socket);
      });
      up.on("error", () => socket.destroy());
    } catch (err) {
      process.stderr.write(`socket-proxy: refused upgrade: ${/** @type {Error} */ (err).message}\n`);
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    }
  });
  return server;
}

if (require.main === module) {
  const policyFile = process.argv[2];
  if (!policyFile) { process.stderr.write("usage: socketProxyServer.js POLICY.json\n"); process.exit(2); }
  /** @type {Policy} */
  const policy = JSON.parse(fs.readFileSync(policyFile, "utf8"));
  const server = createProxy(policy);
  const { listen } = policy;
  if (listen.path) server.listen(listen.path); else server.listen(listen.port ?? 2375, listen.host ?? "0.0.0.0");
  server.on("listening", () => process.stderr.write(`socket-proxy: listening on ${listen.path ?? `${listen.host}:${listen.port}`}\n`));
}

module.exports = { createProxy, matchRoute, checkCreate };
