/**
 * The LLM provider catalogue: every provider LiteLLM can route to, with the
 * API domains its egress needs and LiteLLM's model prefix, and — for a gateway
 * that calls the provider itself (tailscale-host: no LiteLLM) — the endpoint
 * and OpenClaw's API adapter (`models.providers.<id>.{baseUrl,api}`). Config
 * accepts exactly these names; the egress allowlist, LiteLLM's config.yaml and
 * the host's openclaw.json read the rest from here.
 */
export const PROVIDERS = {
  anthropic: { domains: [".anthropic.com"], litellmPrefix: "anthropic", direct: { baseUrl: "https://api.anthropic.com", api: "anthropic-messages" } },
  openai: { domains: [".openai.com"], litellmPrefix: "openai", direct: { baseUrl: "https://api.openai.com/v1", api: "openai-completions" } },
  groq: { domains: [".groq.com"], litellmPrefix: "groq", direct: { baseUrl: "https://api.groq.com/openai/v1", api: "openai-completions" } },
  gemini: { domains: [".googleapis.com"], litellmPrefix: "gemini", direct: { baseUrl: "https://generativelanguage.googleapis.com/v1beta", api: "google-generative-ai" } },
  xai: { domains: [".x.ai"], litellmPrefix: "xai", direct: { baseUrl: "https://api.x.ai/v1", api: "openai-completions" } },
  // Embeddings only: LiteLLM serves it to tools, an agent cannot chat with it.
  voyage: { domains: [".voyageai.com"], litellmPrefix: "voyage", direct: undefined },
} as const;

export type ProviderName = keyof typeof PROVIDERS;
export const PROVIDER_NAMES = Object.keys(PROVIDERS) as [ProviderName, ...ProviderName[]];

/** The env name LiteLLM reads a provider's key from (inside its own process only). */
export function providerKeyEnv(provider: ProviderName): string {
  return `${provider.toUpperCase()}_API_KEY`;
}

/** Providers an agent can call directly (chat models): what a host gateway's `models` may name. */
export const CHAT_PROVIDER_NAMES = PROVIDER_NAMES.filter((p) => PROVIDERS[p].direct !== undefined);
