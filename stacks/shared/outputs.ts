/**
 * The stack outputs: one shape for every topology (docs/operations.md is the
 * contract other teams read), built from the components that exist.
 */
import * as pulumi from "@pulumi/pulumi";
import { Gateway } from "../../components/gateway";
import { StackConfig, Topology } from "../../infra/config/schema";
import { Host } from "../../infra/hosts";

export interface StackOutputs {
  topology: Topology;
  /** The OpenClaw release deployed: the gateway image's tag and the schema openclaw.json was rendered for. */
  openclawVersion: string;
  /** One URL per gateway instance, in instance order (the first at the domain root). */
  gatewayUrls: string[];
  hosts: { name: string; address: string }[];
  /** Cloudflare DNS record ids. */
  dnsRecordIds: pulumi.Input<string>[];
  /** The Cloudflare Tunnel's id, or null without a tunnel. */
  tunnelId: pulumi.Input<string> | null;
  /** Docker networks by role. */
  networks: Record<string, { name: string; subnet: string }>;
  /** The image reference of every workload. */
  images: Record<string, string>;
  /** Secret: one token per gateway instance, in instance order. */
  gatewayTokens: pulumi.Output<string[]>;
}

export interface OutputParts {
  config: StackConfig;
  hosts: Host[];
  gateways: Gateway[];
  ingress: { dnsRecordIds: pulumi.Input<string>[]; tunnelId: pulumi.Input<string> | null };
  networks: StackOutputs["networks"];
}

export function stackOutputs(parts: OutputParts): StackOutputs {
  return {
    topology: parts.config.topology,
    openclawVersion: parts.config.openclawVersion,
    gatewayUrls: parts.gateways.map((g) => g.publicRoute.url),
    hosts: parts.hosts.map((h) => ({ name: h.name, address: h.config.address })),
    ...parts.ingress,
    networks: parts.networks,
    images: parts.config.images,
    gatewayTokens: pulumi.secret(pulumi.all(parts.gateways.map((g) => g.token))),
  };
}
