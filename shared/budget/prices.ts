import * as z from 'zod';
import type { BudgetLogger } from './types';

/** USD per million tokens for each usage bucket, plus the model's output ceiling. */
export interface ModelPrice {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  /** Most tokens one answer can hold: the worst case when the client sets no max_tokens. */
  max_output_tokens: number;
}

/**
 * Used for a model whose output ceiling nobody stated. A capped request is sent at most this
 * many output tokens, so it must be one every model accepts: 4,096 is the smallest ceiling of
 * any current chat model (gpt-4-turbo, Claude 3 Opus). State `max_output_tokens` in `prices`
 * to allow a model more.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;

// Built on first use, as every config schema: building zod schemas at import costs cold-start CPU.
const usdPerMillion = () => z.number().min(0).max(100_000);

/**
 * The top-level `prices` config: `{"<model>": {"input": 3, "output": 15, "cache_read": 0.3,
 * "cache_write": 3.75}}`, USD per million tokens. An entry replaces the built-in price of that
 * model. `cache_read` defaults to `input` (no discount assumed); `cache_write` defaults to
 * 1.25 × `input`, Anthropic's 5-minute cache write (state 2 × for 1-hour caches);
 * `max_output_tokens` defaults to the built-in entry's, else {@link DEFAULT_MAX_OUTPUT_TOKENS}.
 */
export const pricesSchema = z.lazy(() =>
  z.record(
    z.string().min(1),
    z.strictObject({
      input: usdPerMillion(),
      output: usdPerMillion(),
      cache_read: usdPerMillion().optional(),
      cache_write: usdPerMillion().optional(),
      max_output_tokens: z.number().int().positive().optional(),
    }),
  ),
);
export type PricesConfig = z.infer<typeof pricesSchema>;

/**
 * List prices (USD per million tokens) of a few well-known models. OpenAI bills no cache writes,
 * so its `cache_write` equals `input` (it is never used: OpenAI usage has no write bucket).
 * `sim-*` are the simulated demo models, priced small but not zero so the demo shows spend.
 */
export const BUILT_IN_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o': { input: 2.5, output: 10, cache_read: 1.25, cache_write: 2.5, max_output_tokens: 16_384 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cache_read: 0.075, cache_write: 0.15, max_output_tokens: 16_384 },
  'gpt-4.1': { input: 2, output: 8, cache_read: 0.5, cache_write: 2, max_output_tokens: 32_768 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cache_read: 0.1, cache_write: 0.4, max_output_tokens: 32_768 },
  'o3-mini': { input: 1.1, output: 4.4, cache_read: 0.55, cache_write: 1.1, max_output_tokens: 100_000 },
  'text-embedding-3-small': { input: 0.02, output: 0, cache_read: 0.02, cache_write: 0.02, max_output_tokens: 0 },
  'claude-sonnet-4-5': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, max_output_tokens: 64_000 },
  'claude-haiku-4-5': { input: 1, output: 5, cache_read: 0.1, cache_write: 1.25, max_output_tokens: 64_000 },
  'claude-opus-4-1': { input: 15, output: 75, cache_read: 1.5, cache_write: 18.75, max_output_tokens: 32_000 },
  'sim-fast': { input: 0.1, output: 0.4, cache_read: 0.01, cache_write: 0.125, max_output_tokens: 4_096 },
  'sim-steady': { input: 0.5, output: 1.5, cache_read: 0.05, cache_write: 0.625, max_output_tokens: 4_096 },
};

/**
 * The price of a model nobody priced: the dearest entry above (Claude Opus), so an unknown model
 * is over-counted rather than let through for free. Name it in `prices` to bill it correctly.
 */
export const FALLBACK_PRICE: ModelPrice = {
  input: 15,
  output: 75,
  cache_read: 15,
  cache_write: 18.75,
  max_output_tokens: DEFAULT_MAX_OUTPUT_TOKENS,
};

/** Dated snapshots (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`) are billed as their alias. */
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;

const MAX_WARNED_MODELS = 100;

export interface PriceTableOptions {
  /** The config's `prices`, over the built-in table. @default {} */
  overrides?: PricesConfig;
  /** @default {@link FALLBACK_PRICE} */
  fallback?: ModelPrice;
  /** Told once per unknown model per container. */
  logger?: BudgetLogger;
}

/** Looks prices up: config first, then the built-in table, then the stated fallback. */
export class PriceTable {
  private readonly prices = new Map<string, ModelPrice>();
  private readonly fallback: ModelPrice;
  private readonly logger?: BudgetLogger;
  private readonly warned = new Set<string>();

  constructor(options: PriceTableOptions = {}) {
    for (const [model, price] of Object.entries(BUILT_IN_PRICES)) this.prices.set(model, price);
    for (const [model, entry] of Object.entries(options.overrides ?? {})) {
      this.prices.set(model, {
        input: entry.input,
        output: entry.output,
        cache_read: entry.cache_read ?? entry.input,
        cache_write: entry.cache_write ?? entry.input * 1.25,
        max_output_tokens: entry.max_output_tokens ?? BUILT_IN_PRICES[model]?.max_output_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
      });
    }
    this.fallback = options.fallback ?? FALLBACK_PRICE;
    this.logger = options.logger;
  }

  /** Whether the model has a price of its own (else {@link priceOf} returns the fallback). */
  isKnown(model: string): boolean {
    return this.lookup(model) !== undefined;
  }

  priceOf(model: string): ModelPrice {
    const price = this.lookup(model);
    if (price) return price;
    // Bounded: model names come from clients, and a log line per made-up name is a log flood.
    if (!this.warned.has(model) && this.warned.size < MAX_WARNED_MODELS) {
      this.warned.add(model);
      this.logger?.warn('no price for model; using the conservative fallback price', {
        model,
        fallback_usd_per_million: { input: this.fallback.input, output: this.fallback.output },
      });
    }
    return this.fallback;
  }

  private lookup(model: string): ModelPrice | undefined {
    return this.prices.get(model) ?? this.prices.get(model.replace(SNAPSHOT_SUFFIX, ''));
  }
}
