/**
 * The egress allowlist for gateways that run on the host (tailscale-host):
 * Debian's Squid, listening on loopback only, rendered by the same
 * renderSquidConf as the container topologies. The gateway units may reach
 * nothing but localhost (IPAddressDeny=any in their profile), so this proxy,
 * set as the gateways' `proxy.proxyUrl`, is their only way out: to the model
 * providers and channels config names, over CONNECT :443, never to a private
 * or link-local address (DNS rebinding), nothing else.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostFile } from "../infra/files";
import { asRoot, Host } from "../infra/hosts";
import { renderSquidConf, SQUID_PORT } from "./egressProxy";
import { renderPackagesScript } from "./hostBaseline";

/** What the host needs installed: the proxy itself, from the distribution. */
export const HOST_EGRESS_PACKAGES = ["squid"] as const;
/** Debian's squid.service reads its configuration here. */
const SQUID_CONF = "/etc/squid/squid.conf";

/** squid.conf for the host: clients are loopback processes, the listener is loopback-only. */
export function renderHostSquidConf(allowDomains: string[]): string {
  return renderSquidConf({ allowDomains, clientSubnets: ["127.0.0.1/32", "::1/128"], internalDestinations: [], listen: `127.0.0.1:${SQUID_PORT}` });
}

export interface HostEgressProxyArgs {
  host: Host;
  /** Domains the gateways may reach over HTTPS: the models' providers, the channels, any extras. */
  allowDomains: string[];
}

export class HostEgressProxy extends pulumi.ComponentResource {
  /** The URL the gateways use as `proxy.proxyUrl`. */
  readonly url = `http://127.0.0.1:${SQUID_PORT}`;
  readonly squidConf: string;
  /** Ready when Squid runs with the rendered allowlist. */
  readonly ready: pulumi.Resource;

  constructor(name: string, args: HostEgressProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:HostEgressProxy", name, {}, opts);
    this.squidConf = renderHostSquidConf(args.allowDomains);
    const packages = new command.remote.Command(`${name}-packages`, {
      connection: args.host.connection,
      create: asRoot(renderPackagesScript(HOST_EGRESS_PACKAGES)),
      triggers: [HOST_EGRESS_PACKAGES.join(" ")],
    }, { parent: this });
    const conf = hostFile(`${name}-squid-conf`, args.host, { path: SQUID_CONF, content: this.squidConf, mode: "0644", owner: "root:root", secret: false },
      { parent: this, dependsOn: [packages] });
    // Parse first: a conf Squid refuses must fail the deploy, not leave the gateways without a way out.
    this.ready = new command.remote.Command(`${name}-activate`, {
      connection: args.host.connection,
      create: asRoot(`set -eu; out="$(squid -k parse -f ${SQUID_CONF} 2>&1)" || { echo "$out" >&2; exit 1; }; ` +
        `if grep -E 'FATAL|ERROR' <<<"$out" >&2; then exit 1; fi; systemctl enable squid; systemctl restart squid`),
      triggers: [createHash("sha256").update(this.squidConf).digest("hex")],
    }, { parent: this, dependsOn: [conf] });
    this.registerOutputs({ url: this.url });
  }
}
