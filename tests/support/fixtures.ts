/**
 * Values the tests share, each written once: the committed single-vps
 * stack's host (its address and pinned host key), a host big enough for
 * three partitioned gateways, and a Cloudflare Tunnel ingress.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { HostConfig } from "../../infra/config/schema";
import { PROJECT_ROOT } from "./tools";

const committed = (parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.single-vps.yaml"), "utf8")) as { config: Record<string, unknown> }).config;

/** The committed single-vps host, as the config model outputs it. */
export const TEST_HOST = committed["openclaw:host"] as HostConfig;
export const TEST_HOST_KEY = TEST_HOST.hostKey;
export const BIG_HOST: HostConfig = { ...TEST_HOST, memoryMb: 16384 };

export const ZONE_ID = "0123456789abcdef0123456789abcdef";
export const ACCOUNT_ID = "fedcba9876543210fedcba9876543210";
export const TUNNEL_INGRESS = { mode: "cloudflare-tunnel", domain: "openclaw.example.com", cloudflareZoneId: ZONE_ID, cloudflareAccountId: ACCOUNT_ID };

export const SANDBOX = { memoryMb: 512, cpus: 0.5, pidsLimit: 256, maxConcurrent: 3 };
