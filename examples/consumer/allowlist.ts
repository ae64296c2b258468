/**
 * What the consuming team derives from the contract: the gateways' origins
 * for a CORS allow-list and a Squid ACL admitting exactly their host names.
 * Written for contract MAJOR 1; any other MAJOR is refused, not guessed at.
 */
export const SUPPORTED_CONTRACT_MAJOR = 1;

export interface GatewayAllowlist {
  origins: string[];
  squidAcl: string;
}

export function checkContractVersion(version: unknown): string {
  const major = typeof version === "string" ? Number(version.split(".")[0]) : NaN;
  if (major !== SUPPORTED_CONTRACT_MAJOR) {
    throw new Error(`openclaw outputs contract ${JSON.stringify(version)} is not supported: this program reads contract ${SUPPORTED_CONTRACT_MAJOR}.x`);
  }
  return version as string;
}

export function gatewayAllowlist(gatewayUrls: string[]): GatewayAllowlist {
  const urls = gatewayUrls.map((u) => new URL(u));
  for (const url of urls) {
    if (url.protocol !== "https:") throw new Error(`gateway URL ${url.href} is not https`);
  }
  const origins = [...new Set(urls.map((u) => u.origin))];
  const hosts = [...new Set(urls.map((u) => u.hostname))];
  return { origins, squidAcl: `acl openclaw_gateways dstdomain ${hosts.join(" ")}` };
}
