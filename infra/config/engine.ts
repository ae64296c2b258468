/**
 * Reads the stack's config from the Pulumi engine and validates it with the
 * pure model (./parse.ts). Secretness comes from the engine: a key set with
 * `pulumi config set --secret` is listed in PULUMI_CONFIG_SECRET_KEYS.
 */
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { parseStackConfig } from "./parse";
import { StackConfig } from "./schema";

// isConfigSecret is exported by the SDK's runtime but left out of its typings;
// tests/config.test.ts reads a secret key through this function, so an SDK that drops it fails there.
const { isConfigSecret } = runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean };

export function readStackConfig(): StackConfig {
  if (typeof isConfigSecret !== "function") {
    throw new Error("this @pulumi/pulumi no longer exports runtime isConfigSecret; update infra/config/engine.ts");
  }
  const raw = pulumi.runtime.allConfig();
  const secretKeys = new Set(Object.keys(raw).filter((key) => isConfigSecret(key)));
  return parseStackConfig(raw, secretKeys);
}
