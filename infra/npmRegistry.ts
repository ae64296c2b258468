/**
 * The npm registry a host install (tailscale-host) fetches Node, npm and
 * OpenClaw from: the one the operator's own npm uses (`npm config get
 * registry`), so a mirror set in ~/.npmrc serves the hosts too. Every tarball
 * is still checked against its pinned integrity hash (infra/versions.json).
 */
import { spawnSync } from "node:child_process";

export function operatorNpmRegistry(): string {
  const result = spawnSync("npm", ["config", "get", "registry"], { encoding: "utf8" });
  const url = result.status === 0 ? result.stdout.trim().replace(/\/+$/, "") : "";
  if (!/^https:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/.test(url)) {
    throw new Error(`the host install needs an https npm registry, but "npm config get registry" gave "${url || result.stderr.trim()}"`);
  }
  return url;
}
