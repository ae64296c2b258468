/**
 * The LLM provider catalogue: every provider LiteLLM can route to, with the
 * API domains its egress needs and LiteLLM's model prefix, and — for a gateway
 * that calls the provider itself (tailscale-host, or a swarm without LiteLLM) — the endpoint
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

/** Providers an agent can call directly (chat models): what `openclaw:models` may name. */
export const CHAT_PROVIDER_NAMES = PROVIDER_NAMES.filter((p) => PROVIDERS[p].direct !== undefined);

/**
 * The agent's models called directly (no LiteLLM): each provider once, with its
 * endpoint, its models and its key; the first model is the primary, the rest
 * the fallbacks in order (`<provider>/<model>` each).
 */
export function directModelRouting<K>(models: readonly { provider: ProviderName; model: string }[], keys: Partial<Record<ProviderName, K>>) {
  const id = (m: { provider: ProviderName; model: string }) => `${m.provider}/${m.model}`;
  const providers = [...new Set(models.map((m) => m.provider))].map((provider) => {
    const direct = PROVIDERS[provider].direct;
    const apiKey = keys[provider];
    // The config model refused both already (chat providers only; a key for every model's provider).
    if (direct === undefined || apiKey === undefined) throw new Error(`provider ${provider}: not callable directly, or no key`);
    return { id: provider, ...direct, models: models.filter((m) => m.provider === provider).map((m) => m.model), apiKey };
  });
  return { providers, primary: id(models[0]!), fallbacks: models.slice(1).map(id) };
}
