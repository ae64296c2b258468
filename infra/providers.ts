/**
 * The LLM provider catalogue: every provider LiteLLM can route to, with the
 * API domains its egress needs and LiteLLM's model prefix. Config accepts
 * exactly these names; the egress allowlist and LiteLLM's config.yaml read
 * the rest from here.
 */
export const PROVIDERS = {
  anthropic: { domains: [".anthropic.com"], litellmPrefix: "anthropic" },
  openai: { domains: [".openai.com"], litellmPrefix: "openai" },
  groq: { domains: [".groq.com"], litellmPrefix: "groq" },
  gemini: { domains: [".googleapis.com"], litellmPrefix: "gemini" },
  xai: { domains: [".x.ai"], litellmPrefix: "xai" },
  voyage: { domains: [".voyageai.com"], litellmPrefix: "voyage" },
} as const;

export type ProviderName = keyof typeof PROVIDERS;
export const PROVIDER_NAMES = Object.keys(PROVIDERS) as [ProviderName, ...ProviderName[]];

/** The env name LiteLLM reads a provider's key from (inside its own process only). */
export function providerKeyEnv(provider: ProviderName): string {
  return `${provider.toUpperCase()}_API_KEY`;
}
