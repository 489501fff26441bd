import * as z from 'zod';
import { circuitBreakerConfigSchema } from '../breaker/config';
import { pricesSchema } from '../budget/prices';
import { cacheConfigSchema } from '../cache/cacheConfig';
import { keyPolicySchema } from '../keys/keyPolicy';
import { virtualKeyProblem } from '../keys/virtualKey';
import { mcpServerSchema } from '../mcp/mcpConfig';
import { serviceSchema } from '../tools/serviceConfig';

/**
 * The config file's schema. Route and target objects follow Portkey's gateway config
 * (strategy, targets, retry, request_timeout, override_params, weight, custom_host), so a
 * Portkey config can be brought over; everything else is Breakwater's own.
 */

// Every schema here is built on first use (z.lazy, or a function called inside one), not at import
// (~13 ms of CPU on Node 20): a cold start with the config pre-validated at synth never builds them
// (parsedConfig.ts).
const httpStatus = () => z.number().int().min(100).max(599);
const positiveMs = () => z.number().int().positive();

export const retrySchema = z.lazy(() =>
  z.strictObject({
    /** Retries after the first call (Portkey's meaning): 2 means up to 3 calls to one target. */
    attempts: z.number().int().min(0).max(10),
    /** Statuses worth retrying on the same target; defaults to the classification table. */
    on_status_codes: z.array(httpStatus()).optional(),
    use_retry_after_header: z.boolean().optional(),
    backoff: z.enum(['full', 'equal', 'decorrelated']).optional(),
    base_delay_ms: positiveMs().optional(),
    max_delay_ms: positiveMs().optional(),
    /** A Retry-After longer than this is not waited out: the request fails over instead. */
    max_retry_after_ms: positiveMs().optional(),
  }),
);

export const strategySchema = z.lazy(() =>
  z.strictObject({
    mode: z.enum(['single', 'fallback', 'loadbalance']),
    /** Upstream statuses that move on to the next target. Network failures and timeouts always do. */
    on_status_codes: z.array(httpStatus()).optional(),
  }),
);

const overrideParamsSchema = () => z.record(z.string(), z.unknown());

// A function, so that the recursive `targets` getter names a local const (TypeScript can type that).
function buildTargetSchema() {
  const schema = z
    .strictObject({
      name: z.string().min(1).optional(),
      provider: z.string().min(1).optional(),
      /** Portkey inline targets: base URL for a provider given by type. */
      custom_host: z.url().optional(),
      /** Inline targets: the secret holding the credential (defaults to the provider type). */
      credential: z.string().min(1).optional(),
      override_params: overrideParamsSchema().optional(),
      weight: z.number().min(0).optional(),
      retry: retrySchema.optional(),
      /** Per-attempt timeout in ms, inherited by nested targets. */
      request_timeout: positiveMs().optional(),
      /**
       * Streaming: ms from an attempt's start to its first content event (a stalled upstream
       * fails over instead of hanging). Inherited; defaults to the attempt's `request_timeout`.
       */
      stream_first_token_timeout: positiveMs().optional(),
      /** Streaming: the longest gap in ms between two events once the answer has started. Inherited. */
      stream_idle_timeout: positiveMs().optional(),
      /**
       * Streaming, read on the route itself: what a stream cut after its first byte does.
       * `error` (default) ends it with an error event; `continue` sends the partial answer to the
       * next prefill-capable target as an assistant prefill and streams its continuation on.
       */
      stream_recovery: z.enum(['error', 'continue']).optional(),
      strategy: strategySchema.optional(),
      /** Fleet-wide breaker settings (Portkey 2.0 cb_config names), inherited by nested targets. */
      circuit_breaker: circuitBreakerConfigSchema.optional(),
      /** Response cache, read on the route itself only. */
      cache: cacheConfigSchema.optional(),
      get targets() {
        return z.array(schema).min(1).optional();
      },
      api_key: z
        .unknown()
        .refine(() => false, 'keys never go in the config file: store it as a secret and name it in `credential`')
        .optional(),
    })
    .superRefine((target, ctx) => {
      const isGroup = target.targets !== undefined;
      if (isGroup && target.provider !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['provider'], message: 'a target has either `provider` or `targets`, not both' });
      }
      if (!isGroup && target.provider === undefined) {
        ctx.addIssue({ code: 'custom', path: ['provider'], message: 'a target needs `provider` (or nested `targets`)' });
      }
      if (isGroup && target.strategy === undefined) {
        ctx.addIssue({ code: 'custom', path: ['strategy'], message: 'nested `targets` need a `strategy`' });
      }
    });
  return schema;
}
/** A target is either a leaf (`provider`) or a group (`strategy` + `targets`), nested freely. */
export const targetSchema = z.lazy(buildTargetSchema);

export type TargetConfig = z.infer<typeof targetSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;

const openaiProviderSchema = () =>
  z.strictObject({
    type: z.literal('openai'),
    base_url: z.url().default('https://api.openai.com/v1'),
    credential: z.string().min(1).optional(),
    /** Extra headers sent upstream (an Azure-style gateway's api-version, an org id). Never secrets. */
    headers: z.record(z.string(), z.string()).optional(),
  });

const anthropicProviderSchema = () =>
  z.strictObject({
    type: z.literal('anthropic'),
    base_url: z.url().default('https://api.anthropic.com/v1'),
    credential: z.string().min(1).optional(),
    anthropic_version: z.string().default('2023-06-01'),
    /** Messages API requires max_tokens; used when the client sends none. */
    default_max_tokens: z.number().int().positive().default(4096),
  });

const bedrockProviderSchema = () =>
  z.strictObject({
    type: z.literal('bedrock'),
    /** The Bedrock region; defaults to the function's own (AWS_REGION). */
    region: z.string().min(1).optional(),
    /** A VPC interface endpoint's URL, or a local stub in tests; defaults to the regional endpoint. */
    endpoint: z.url().optional(),
    /** Calls are signed with the function's IAM role: there is no secret to name. */
    credential: z
      .never({ error: "bedrock signs with the function's IAM role and takes no `credential`" })
      .optional(),
  });

export const SIMULATED_FAILURES = ['429', '429_retry_after', '500', '503', 'timeout', 'reset', 'malformed'] as const;

const simulatedProviderSchema = () =>
  z.strictObject({
    type: z.literal('simulated'),
    /** Mean latency of an answer in ms. */
    latency_ms: z.number().min(0).default(30),
    /** Latency varies uniformly by up to this much either way. */
    jitter_ms: z.number().min(0).default(0),
    /** Share of calls that fail, 0..1. */
    failure_rate: z.number().min(0).max(1).default(0),
    /** Relative weights of the failure kinds drawn when a call fails. */
    status_mix: z.partialRecord(z.enum(SIMULATED_FAILURES), z.number().min(0)).default({ '503': 1 }),
    /** Retry-After (seconds) sent with `429_retry_after` failures. */
    retry_after_s: z.number().min(0).default(1),
    /**
     * Streaming: ms between two word chunks of a streamed answer, so a stream looks like one.
     * @default 5
     */
    stream_chunk_delay_ms: z.number().min(0).default(5),
    /**
     * Streaming: share of streams, 0..1, cut mid-answer (a reset after about half the chunks), to
     * try `stream_recovery` and a client's handling of a broken stream.
     * @default 0
     */
    stream_cut_rate: z.number().min(0).max(1).default(0),
  });

export const providerSchema = z.lazy(() =>
  z.discriminatedUnion('type', [
    openaiProviderSchema(),
    anthropicProviderSchema(),
    bedrockProviderSchema(),
    simulatedProviderSchema(),
  ]),
);
export type ProviderConfig = z.infer<typeof providerSchema>;
export type ProviderType = ProviderConfig['type'];
export const PROVIDER_TYPES: readonly ProviderType[] = ['openai', 'anthropic', 'bedrock', 'simulated'];

/**
 * A tenant: its default route, its virtual keys (seeds for the key store) and its policy. The
 * policy fields are the ones a key in the store carries (`allowed_routes`, `rpm_limit`,
 * `daily_budget_usd`...), so a key's policy reads like a tenant block and can narrow it.
 */
export const tenantSchema = z.lazy(() =>
  keyPolicySchema.unwrap().extend({
    /** The route used when the request names none. */
    route: z.string().min(1),
    /**
     * Plain virtual keys: used as they are, and seeded into the local key store. At least 32
     * characters, random after their first 8: logs show only a short prefix (shared/keys/virtualKey.ts).
     */
    keys: z
      .array(
        z.string().superRefine((key, ctx) => {
          const problem = virtualKeyProblem(key);
          // The message never quotes the key: config errors end up in deploy logs.
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .default([]),
  }),
);

export const settingsSchema = z.lazy(() =>
  z.strictObject({
    /**
     * Ceiling on one request, whatever Lambda's remaining time. Every route uses API Gateway's
     * streaming integration, which lifts its 29 s limit: long generations take minutes.
     */
    max_request_ms: positiveMs().default(300_000),
    /** Kept back from Lambda's remaining time to answer before the function is killed. */
    lambda_margin_ms: z.number().int().min(0).default(1_000),
    max_body_bytes: positiveMs().default(4 * 1024 * 1024),
    retry_budget: z
      .strictObject({
        ratio: z.number().min(0).max(1).default(0.1),
        min_retries_per_window: z.number().int().min(0).default(10),
        window_ms: positiveMs().default(10_000),
      })
      .prefault({}),
    /**
     * The gateway's public URL (`https://api.example.com/prod`): OAuth connects redirect users to
     * `<public_base_url>/v1/connections/callback`, which must be registered with each provider.
     * @default derived from each request's Host and stage
     */
    public_base_url: z.url().optional(),
  }),
);

export const configSchema = z.lazy(() =>
  z.strictObject({
    providers: z.record(z.string().min(1), providerSchema).default({}),
    routes: z.record(z.string().min(1), targetSchema),
    /** Third-party APIs the tool proxy calls for agents (`/v1/tools/<name>/...`), with their credentials. */
    services: z
      .record(
        z
          .string()
          .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a service name: lowercase letters, digits, _ and -')
          // `/v1/connections/callback` is the OAuth redirect target: a service of that name could not be connected.
          .refine((name) => name !== 'callback', '"callback" is reserved (the OAuth redirect path)'),
        serviceSchema,
      )
      .default({}),
    /** Remote MCP servers whose tools `/mcp` exposes as `<name>__<tool>`, with their credentials. */
    mcp_servers: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'an MCP server name: lowercase letters, digits and -'), mcpServerSchema).default({}),
    tenants: z.record(z.string().min(1), tenantSchema),
    /** USD per million tokens per model, over the built-in price table. */
    prices: pricesSchema.default({}),
    settings: settingsSchema.prefault({}),
  }),
);

export type BreakwaterConfigInput = z.input<typeof configSchema>;
export type BreakwaterConfig = z.infer<typeof configSchema>;
