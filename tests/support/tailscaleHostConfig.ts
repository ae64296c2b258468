/** The committed tailscale-host stack config with test overrides (keys without the namespace). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT_ROOT } from "./tools";

export function tailscaleHostConfig(o: { instances?: string[]; onePasswordVault?: string; overrides?: Record<string, unknown> } = {}): Record<string, unknown> {
  const base = (parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.tailscale-host.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
  const merged: Record<string, unknown> = { ...base };
  if (o.instances) {
    const gateway = { ...(merged["openclaw:gateway"] as Record<string, unknown>), instances: o.instances.map((name) => ({ name })) };
    merged["openclaw:gateway"] = gateway;
    // Each instance's unit and worst case of sandboxes must fit the host (the capacity check): a test host big enough for three.
    merged["openclaw:host"] = { ...(merged["openclaw:host"] as Record<string, unknown>), memoryMb: 16384 };
  }
  if (o.onePasswordVault) {
    merged["openclaw:hostGateway"] = { onePassword: { vault: o.onePasswordVault } };
    merged["openclaw:opServiceAccountToken"] = "ops_test-service-account-token-0123456789";
  }
  for (const [key, value] of Object.entries(o.overrides ?? {})) merged[`openclaw:${key}`] = value;
  return merged;
}
