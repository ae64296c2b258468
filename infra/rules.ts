/**
 * Rules about addresses, CIDRs, domain names, user names and paths, written
 * once: the config model applies them to the user's values (naming the key),
 * and the renderers assert them again on what they are given.
 */
import { isIP } from "node:net";

/** A Unix user name (the SSH user; sshd's AllowUsers). */
export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** An absolute path with nothing a shell or systemd would interpret (backup repository, export path). */
export const PLAIN_ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]+$/;

/** 4, 6, or 0 when `value` is not an address or CIDR. */
export function family(value: string): number {
  return isIP(value.split("/")[0] ?? "");
}

export function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const fam = isIP(address ?? "");
  return fam !== 0 && Number(prefix) <= (fam === 4 ? 32 : 128);
}

export function isIpv4Cidr(value: string): boolean {
  return isCidr(value) && family(value) === 4;
}

function ipv4Value(address: string): number {
  return address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** A /0 admits every address of its family. */
export function admitsEverything(value: string): boolean {
  return /\/0$/.test(value);
}

/** An IPv4 CIDR whose address is not the network address (203.0.113.7/24). */
export function hasHostBits(value: string): boolean {
  const [ip = "", prefix] = value.split("/");
  if (prefix === undefined || isIP(ip) !== 4) return false;
  const bits = Number(prefix);
  return bits < 32 && ipv4Value(ip) % 2 ** (32 - bits) !== 0;
}

/** Whether two IPv4 CIDRs share an address. */
export function ipv4CidrsOverlap(a: string, b: string): boolean {
  const range = (cidr: string): [number, number] => {
    const [ip = "", prefix = "32"] = cidr.split("/");
    const size = 2 ** (32 - Number(prefix));
    const start = ipv4Value(ip) - (ipv4Value(ip) % size);
    return [start, start + size - 1];
  };
  const [aStart, aEnd] = range(a);
  const [bStart, bEnd] = range(b);
  return aStart <= bEnd && bStart <= aEnd;
}

/** Why an address or CIDR may not stand in an allow rule, or undefined. */
export function allowRuleProblem(value: string): string | undefined {
  if (family(value) === 0) return `${value} is not an IP address or CIDR`;
  if (admitsEverything(value)) return `${value} admits every address`;
  if (hasHostBits(value)) return `${value} has host bits set: write the network address`;
  return undefined;
}

/**
 * An egress allowlist entry: `.example.com` (the domain and its subdomains)
 * or `api.example.com` (exactly that name). Lowercase, as Squid compares.
 */
export const ALLOWLIST_ENTRY = /^\.?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * Entries Squid refuses or that say nothing new: an exact repeat, or a name
 * already covered by a `.parent` entry (Squid refuses `.a.com` beside
 * `b.a.com`). Returns each such entry's index, the entry it clashes with, and why.
 */
export function allowlistConflicts(entries: readonly string[]): { index: number; other: number; problem: string }[] {
  const conflicts: { index: number; other: number; problem: string }[] = [];
  entries.forEach((entry, index) => {
    const first = entries.indexOf(entry);
    if (first !== index) {
      conflicts.push({ index, other: first, problem: `"${entry}" is listed twice` });
      return;
    }
    const parent = entries.findIndex((other) => other !== entry && other.startsWith(".") && (entry.endsWith(other) || `.${entry}` === other));
    if (parent !== -1) conflicts.push({ index, other: parent, problem: `"${entry}" is already covered by "${entries[parent]}"` });
  });
  return conflicts;
}

/** A host firewall's outbound allow rule: ports anywhere, over tcp, udp or (no protocol) both. */
export interface OutboundPorts {
  ports: readonly number[];
  protocol?: "tcp" | "udp";
}

/** Why ufw would refuse an outbound rule, or undefined. */
export function outboundRuleProblem(r: OutboundPorts): string | undefined {
  if (r.ports.length === 0) return "expected at least one port";
  const bad = r.ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
  if (bad !== undefined) return `${bad} is not a port (1-65535)`;
  if (new Set(r.ports).size !== r.ports.length) return "a port is listed twice";
  if (r.ports.length > 1 && !r.protocol) return "several ports need a protocol (tcp or udp): ufw refuses them without one";
  return undefined;
}

/**
 * Why an outbound allowlist would cut the host off, or undefined: apt, npm,
 * Tailscale's control plane and every model provider are reached on 443/tcp.
 */
export function outboundAllowlistProblem(rules: readonly OutboundPorts[]): string | undefined {
  const https = rules.some((r) => r.ports.includes(443) && r.protocol !== "udp");
  return https ? undefined : "443/tcp is not allowed: apt, npm, Tailscale's control plane and every model provider need it";
}
