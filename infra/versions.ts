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
  // Seed 001's optional metrics collector (swarm topology).
  otelCollector: "otel/opentelemetry-collector-contrib:0.152.1@sha256:fa1f6ea8dabd3042fabf4411eed7fa52f253edd8940140bec89a573e62a24eb7",
} as const;

export type ImageRole = keyof typeof DEFAULT_IMAGES;
