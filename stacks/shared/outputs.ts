/**
 * The stack outputs: one shape for every topology, built from the components
 * that exist. Every output but the secret gatewayTokens is the outputs
 * contract other teams read (contract/outputs.schema.json, docs/outputs.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { OUTPUTS_CONTRACT_VERSION } from "../../contract/outputs";
import { Gateway } from "../../components/gateway";
import { SingleVpsConfig, SwarmConfig, Topology } from "../../infra/config/schema";
import { Host } from "../../infra/hosts";

export interface StackOutputs {
  /** The outputs contract's version (MAJOR.MINOR). */
  contractVersion: string;
  topology: Topology;
  /** The OpenClaw release deployed: the gateway image's tag and the schema openclaw.json was rendered for. */
  openclawVersion: string;
  /** One URL per gateway instance, in instance order (the first at the domain root). */
  gatewayUrls: string[];
  /** Host name from config → its address. */
  hostAddresses: Record<string, string>;
  /** MagicDNS names of the stack's Tailscale devices. */
  tailnetNames: string[];
  /** Cloudflare DNS record ids. */
  dnsRecordIds: pulumi.Input<string>[];
  /** The Cloudflare Tunnel's id, or null without a tunnel. */
  tunnelId: pulumi.Input<string> | null;
  /** Docker network name → subnet. */
  networkSubnets: Record<string, string>;
  /** Workload role → the image reference it runs. */
  imageRefs: Record<string, string>;
  /** Secret: one token per gateway instance, in instance order. */
  gatewayTokens: pulumi.Output<string[]>;
}

export interface OutputParts {
  config: SingleVpsConfig | SwarmConfig;
  hosts: Host[];
  /** Every gateway instance, in instance order (a Gateway container, or a gateway on the host). */
  gateways: Pick<Gateway, "publicRoute" | "token">[];
  ingress: { dnsRecordIds: pulumi.Input<string>[]; tunnelId: pulumi.Input<string> | null };
  /** Docker networks by role. */
  networks: Record<string, { name: string; subnet: string }>;
  /** The images the workloads run by role (default: every image in config). */
  images?: Record<string, string>;
  tailnetNames?: string[];
}

export function stackOutputs(parts: OutputParts): StackOutputs {
  return {
    contractVersion: OUTPUTS_CONTRACT_VERSION,
    topology: parts.config.topology,
    openclawVersion: parts.config.openclawVersion,
    gatewayUrls: parts.gateways.map((g) => g.publicRoute.url),
    hostAddresses: Object.fromEntries(parts.hosts.map((h) => [h.name, h.config.address])),
    tailnetNames: parts.tailnetNames ?? [],
    ...parts.ingress,
    networkSubnets: Object.fromEntries(Object.values(parts.networks).map((n) => [n.name, n.subnet])),
    imageRefs: parts.images ?? parts.config.images,
    gatewayTokens: pulumi.secret(pulumi.all(parts.gateways.map((g) => g.token))),
  };
}
