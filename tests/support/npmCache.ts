/**
 * The npm registry a test host installs from, without the test host ever
 * reaching the network: the runner fills an npm cache once (`npm install` of
 * exactly what the host scripts install: Node, npm, every pinned OpenClaw
 * release), then serves that cache over HTTPS to the host from inside the
 * test. Every response is content addressed: its sha512 must equal the
 * integrity the cache index holds for the URL, or the stand-in answers 502;
 * the host scripts still check their own pins on top. A URL the cache lacks
 * is a 404 and is listed in `misses` (the fill step missed something).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { operatorNpmRegistry } from "../../infra/npmRegistry";
import { HOST_NODE, HOST_NPM, OPENCLAW_RELEASE_INTEGRITY } from "../../infra/versions";
import { CACHE_ROOT } from "./tools";

/** npm's cache (cacache) of everything a tailscale-host install fetches. */
export const HOST_NPM_CACHE = join(CACHE_ROOT, "npm-tshost");

function npm(args: string[], cwd?: string): void {
  const r = spawnSync("npm", args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
}

/** Fills the cache from `upstream` (the operator's registry) once per set of pins; the runner's network, never the host's. */
export function ensureHostNpmCache(upstream: string): void {
  const releases = Object.keys(OPENCLAW_RELEASE_INTEGRITY).sort();
  const recipe = createHash("sha256").update(JSON.stringify({ upstream, node: HOST_NODE, npm: HOST_NPM, releases })).digest("hex").slice(0, 16);
  const marker = join(HOST_NPM_CACHE, `.filled-${recipe}`);
  if (existsSync(marker)) return;
  mkdirSync(HOST_NPM_CACHE, { recursive: true });
  const common = ["--cache", HOST_NPM_CACHE, "--registry", upstream, "--no-audit", "--no-fund", "--loglevel=error"];
  npm(["cache", "add", `${HOST_NODE.package}@${HOST_NODE.version}`, `${HOST_NPM.package}@${HOST_NPM.version}`, ...common]);
  for (const release of releases) {
    // The same install the host's release script runs, so every packument and tarball it asks for is cached.
    const dir = mkdtempSync(join(tmpdir(), "octs-npm-fill-"));
    try {
      npm(["install", "--prefix", dir, "--ignore-scripts", "--omit=dev", ...common, `openclaw@${release}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  writeFileSync(marker, new Date().toISOString());
}

/** The newest cache entry for a key: [integrity, path of the content]. */
function lookup(cacheDir: string, key: string): { integrity: string; file: string } | undefined {
  const hash = createHash("sha256").update(key).digest("hex");
  const bucket = join(cacheDir, "_cacache/index-v5", hash.slice(0, 2), hash.slice(2, 4), hash.slice(4));
  if (!existsSync(bucket)) return undefined;
  let found: string | undefined;
  for (const line of readFileSync(bucket, "utf8").split("\n")) {
    const json = line.split("\t")[1];
    if (!json) continue;
    const entry = JSON.parse(json) as { key: string; integrity: string | null };
    if (entry.key === key) found = entry.integrity ?? undefined;
  }
  if (!found) return undefined;
  const sha512 = found.split(/\s+/).find((i) => i.startsWith("sha512-"));
  if (!sha512) return undefined;
  const hex = Buffer.from(sha512.slice("sha512-".length), "base64").toString("hex");
  return { integrity: sha512, file: join(cacheDir, "_cacache/content-v2/sha512", hex.slice(0, 2), hex.slice(2, 4), hex.slice(4)) };
}

export interface NpmCacheServer {
  /** The registry URL to render with (`https://<address>`). */
  url: string;
  /** URLs the host asked for that the cache lacks. */
  misses: string[];
  /** PEM of the server's self-signed certificate: the host must trust it. */
  certificate: string;
  served: number;
  close(): Promise<void>;
}

/** Serves the cache on https://address:443 (the port a hardened host may reach out to). */
export async function serveNpmCache(o: { upstream: string; address: string; port?: number; cacheDir?: string }): Promise<NpmCacheServer> {
  const cacheDir = o.cacheDir ?? HOST_NPM_CACHE;
  const upstream = o.upstream.replace(/\/+$/, "");
  const port = o.port ?? 443;
  const url = `https://${o.address}${port === 443 ? "" : `:${port}`}`;
  const dir = mkdtempSync(join(tmpdir(), "octs-registry-"));
  const tls = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=octs test registry", "-addext", `subjectAltName=IP:${o.address}`, "-addext", "basicConstraints=critical,CA:TRUE",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { encoding: "utf8" });
  if (tls.status !== 0) throw new Error(`openssl: ${tls.stderr}`);
  const certificate = readFileSync(join(dir, "cert.pem"), "utf8");
  const key = readFileSync(join(dir, "key.pem"), "utf8");
  rmSync(dir, { recursive: true, force: true });
  const state = { misses: [] as string[], served: 0 };
  const server: Server = createServer({ key, cert: certificate }, (req, res) => {
    const path = req.url ?? "/";
    const entry = req.method === "GET" ? lookup(cacheDir, `make-fetch-happen:request-cache:${upstream}${path}`) : undefined;
    if (!entry || !existsSync(entry.file)) {
      state.misses.push(path);
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not in the test cache"}');
      return;
    }
    let body = readFileSync(entry.file);
    const digest = `sha512-${createHash("sha512").update(body).digest("base64")}`;
    if (digest !== entry.integrity) {
      res.writeHead(502).end("cache content does not match its integrity");
      return;
    }
    const tarball = path.endsWith(".tgz");
    // Packuments name tarballs at the upstream registry: point them at this stand-in.
    if (!tarball) body = Buffer.from(body.toString("utf8").split(`${upstream}/`).join(`${url}/`));
    state.served++;
    res.writeHead(200, { "content-type": tarball ? "application/octet-stream" : "application/json", "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, o.address, () => resolve());
  });
  return {
    url,
    certificate,
    get misses() { return state.misses; },
    get served() { return state.served; },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

// `tsx tests/support/npmCache.ts prepare`: fills the cache (scripts/install-validators.sh runs it).
if (require.main === module) {
  if (process.argv[2] !== "prepare") {
    console.error("usage: tsx tests/support/npmCache.ts prepare");
    process.exit(2);
  }
  const t0 = Date.now();
  ensureHostNpmCache(operatorNpmRegistry());
  console.log(`npm-tshost: cache ready in ${HOST_NPM_CACHE} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
