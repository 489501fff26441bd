import { PICO_PER_USD, picoPerToken } from './cost';
import { inputTokenBound, measureInput } from './inputBound';
import type { PriceTable } from './prices';

/**
 * The most a request can cost before the upstream is called: what a spend reservation holds.
 * Input is bounded by {@link inputTokenBound}; output by the `max_tokens` the gateway itself
 * sends each target ({@link outputLimitsOf}, applied by `withOutputLimits`), so the upstream
 * cannot produce more than was paid for. That limit is the smallest of the client's own
 * (`max_tokens` / `max_completion_tokens`), the target's `override_params`, the model's output
 * ceiling and, through {@link fitToBudget}, what the budget left can pay for.
 */

/** One target a route may call, as far as its cost goes. */
export interface CostCandidate {
  model: string;
  /** The target's override_params: sent upstream too, and its max_tokens caps the client's. */
  overrideParams?: Readonly<Record<string, unknown>>;
  /** What the target asks for when nothing names a limit (Anthropic's `default_max_tokens`). */
  defaultOutputTokens?: number;
}

/**
 * A budget may cut an answer's length down to this many tokens (or the request's own limit, if
 * smaller), and no further: below it the answer is too short to be worth its input, so the
 * request is refused instead.
 */
export const MIN_OUTPUT_TOKENS = 256;

export interface CandidateBound {
  model: string;
  inputTokens: number;
  /** Per choice: the `max_tokens` this candidate is sent. 0 for embeddings. */
  outputTokens: number;
  /** The least a budget may cut {@link outputTokens} to. */
  minOutputTokens: number;
  choices: number;
  /** Input at the dearest of its price buckets (it may be written to, or read from, a cache). */
  inputPicoUsd: number;
  /** One more output token on every choice. */
  outputPicoPerToken: number;
  picoUsd: number;
}

export interface WorstCase {
  /** The dearest candidate's bound, in picodollars (exact). */
  picoUsd: number;
  usd: number;
  /** The most tokens (input + output) any candidate can use: what the user token cap reserves. */
  tokens: number;
  inputTokens: number;
  /** The candidate that set `picoUsd`. */
  model: string;
  candidates: readonly CandidateBound[];
}

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;

/** The smaller of `max_tokens` and `max_completion_tokens`, when either is set: the gateway sends both as the bound. */
export function outputLimitOf(params: Readonly<Record<string, unknown>>): number | undefined {
  const limits = [positive(params.max_tokens), positive(params.max_completion_tokens)].filter((limit) => limit !== undefined);
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

const isEmbedding = (body: Readonly<Record<string, unknown>>) => !Array.isArray(body.messages) && body.input !== undefined;

/** Prices each candidate at its bound and picks the worst. */
function summarise(candidates: ReadonlyArray<Omit<CandidateBound, 'picoUsd'>>): WorstCase {
  const priced = candidates.map((candidate) => ({
    ...candidate,
    picoUsd: candidate.inputPicoUsd + candidate.outputTokens * candidate.outputPicoPerToken,
  }));
  const dearest = priced.reduce((worst, entry) => (entry.picoUsd > worst.picoUsd ? entry : worst));
  return {
    picoUsd: dearest.picoUsd,
    usd: dearest.picoUsd / PICO_PER_USD,
    tokens: Math.max(...priced.map((entry) => entry.inputTokens + entry.outputTokens * entry.choices)),
    inputTokens: Math.max(...priced.map((entry) => entry.inputTokens)),
    model: dearest.model,
    candidates: priced,
  };
}

/** The bound over every target the route may call; the dearest sets the price, the largest the tokens. */
export function worstCaseEstimate(
  body: Readonly<Record<string, unknown>>,
  candidates: ReadonlyArray<string | CostCandidate>,
  prices: PriceTable,
): WorstCase {
  const measures = measureInput(body);
  const embedding = isEmbedding(body);
  const choices = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 1 ? body.n : 1;
  const clientLimit = outputLimitOf(body);
  const listed = candidates.length > 0 ? candidates : [typeof body.model === 'string' ? body.model : ''];

  return summarise(
    listed.map((entry) => {
      const candidate = typeof entry === 'string' ? { model: entry } : entry;
      const price = prices.priceOf(candidate.model);
      const overrides = candidate.overrideParams ?? {};
      const extraBytes = Object.keys(overrides).length > 0 ? Buffer.byteLength(JSON.stringify(overrides), 'utf8') : 0;
      const inputTokens = inputTokenBound(measures, candidate.model, extraBytes);
      const asked = Math.min(clientLimit ?? Infinity, outputLimitOf(overrides) ?? Infinity);
      // An output ceiling of 0 is an embeddings model's: a chat request still needs one token to ask for.
      const ceiling = Math.max(1, price.max_output_tokens);
      const outputTokens = embedding ? 0 : Math.min(Number.isFinite(asked) ? asked : (candidate.defaultOutputTokens ?? ceiling), ceiling);
      return {
        model: candidate.model,
        inputTokens,
        outputTokens,
        minOutputTokens: Math.min(outputTokens, MIN_OUTPUT_TOKENS),
        choices,
        inputPicoUsd: inputTokens * Math.max(picoPerToken(price.input), picoPerToken(price.cache_write), picoPerToken(price.cache_read)),
        outputPicoPerToken: choices * picoPerToken(price.output),
      };
    }),
  );
}

/**
 * The bound with every candidate's output cut to what `roomPicoUsd` pays for, never below its
 * {@link CandidateBound.minOutputTokens}; undefined when even that does not fit.
 */
export function fitToBudget(worst: WorstCase, roomPicoUsd: number): WorstCase | undefined {
  const fitted: Array<Omit<CandidateBound, 'picoUsd'>> = [];
  for (const candidate of worst.candidates) {
    const affordable =
      candidate.outputPicoPerToken === 0
        ? candidate.outputTokens
        : Math.floor((roomPicoUsd - candidate.inputPicoUsd) / candidate.outputPicoPerToken);
    const outputTokens = Math.min(candidate.outputTokens, affordable);
    if (candidate.inputPicoUsd > roomPicoUsd || outputTokens < candidate.minOutputTokens) return undefined;
    fitted.push({ ...candidate, outputTokens });
  }
  return summarise(fitted);
}

/** The bound with every candidate at its least output: the cheapest way the request can be served. */
export const leastCase = (worst: WorstCase): WorstCase =>
  summarise(worst.candidates.map((candidate) => ({ ...candidate, outputTokens: candidate.minOutputTokens })));

/** Per model, the most output tokens (per choice) a target of it may be asked for. */
export function outputLimitsOf(worst: WorstCase): ReadonlyMap<string, number> {
  const limits = new Map<string, number>();
  for (const { model, outputTokens } of worst.candidates) limits.set(model, Math.max(outputTokens, limits.get(model) ?? 0));
  return limits;
}
