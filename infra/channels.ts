/**
 * The messaging channels a gateway may run, with the API domains each needs
 * through the egress proxy. A channel is on for an instance when config holds
 * its token (`openclaw:channelTokens.<instance>`); the allowlist reads its
 * domains from here, so turning a channel on never needs an extraDomains edit.
 */
export const CHANNELS = {
  // Bot API long polling and sends (seed 002 step 7, seed 003 phase 4).
  telegram: { domains: ["api.telegram.org"] },
} as const;

/** The domains the configured channels need: Telegram's when any instance has a bot token. */
export function channelDomains(channelTokens: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(channelTokens).length > 0 ? [...CHANNELS.telegram.domains] : [];
}
