import { existsSync, readFileSync } from 'node:fs';
import { compileConfig, settingsSchema, type Settings } from '../shared/config/index.js';

/** Lambda's own ceiling on a function's timeout. */
export const LAMBDA_MAX_TIMEOUT_MS = 15 * 60_000;
/** API Gateway's ceiling on a streaming (STREAM transfer mode) integration's timeout. */
export const STREAMING_INTEGRATION_MAX_TIMEOUT_MS = 15 * 60_000;
/**
 * Function time beyond the request's own deadline and margin: authentication, limits and spend
 * reservation before the deadline starts, spend settlement, idempotency and metrics after it.
 * With it, `max_request_ms` is what binds a request, not Lambda killing the function.
 */
export const GATEWAY_TIMEOUT_HEADROOM_MS = 29_000;
/** The integration outlives the function a little, so the function, not API Gateway, always ends first. */
export const INTEGRATION_TIMEOUT_EXTRA_MS = 5_000;

export type DeadlineSettings = Pick<Settings, 'max_request_ms' | 'lambda_margin_ms'>;

export interface GatewayTimeouts {
  /** The config's `settings.max_request_ms`: the longest a request may run. */
  readonly maxRequestMs: number;
  /** The config's `settings.lambda_margin_ms`. */
  readonly lambdaMarginMs: number;
  /** The gateway function's timeout, in whole seconds (as Lambda takes it), in ms. */
  readonly functionTimeoutMs: number;
  /** The streaming integration's timeout on every route: at least the function's. */
  readonly integrationTimeoutMs: number;
}

/**
 * The gateway's timeouts from the config's deadline settings: the function gets
 * `max_request_ms + lambda_margin_ms + 29 s`, rounded up to a second (5 min 30 s with the
 * defaults), and the streaming integration 5 s more, both within their 15-minute limits.
 */
export function gatewayTimeouts(settings: DeadlineSettings): GatewayTimeouts {
  const { max_request_ms: maxRequestMs, lambda_margin_ms: lambdaMarginMs } = settings;
  const functionTimeoutMs = Math.ceil((maxRequestMs + lambdaMarginMs + GATEWAY_TIMEOUT_HEADROOM_MS) / 1_000) * 1_000;
  if (functionTimeoutMs > LAMBDA_MAX_TIMEOUT_MS) {
    throw new Error(
      `settings.max_request_ms (${maxRequestMs}) + lambda_margin_ms (${lambdaMarginMs}) + ${GATEWAY_TIMEOUT_HEADROOM_MS / 1_000} s ` +
        `of headroom gives the gateway function a ${functionTimeoutMs / 1_000} s timeout, over Lambda's 15 minutes: lower max_request_ms`,
    );
  }
  const integrationTimeoutMs = Math.min(functionTimeoutMs + INTEGRATION_TIMEOUT_EXTRA_MS, STREAMING_INTEGRATION_MAX_TIMEOUT_MS);
  return { maxRequestMs, lambdaMarginMs, functionTimeoutMs, integrationTimeoutMs };
}

/**
 * The deadline settings of the config file at `path` (compiled as the gateway compiles it at cold
 * start), or the defaults when there is no file yet (tests that skip bundling synthesize without
 * one; a real synth has already refused to go on without it).
 */
export function readDeadlineSettings(path: string): DeadlineSettings {
  if (!existsSync(path)) {
    const { max_request_ms, lambda_margin_ms } = settingsSchema.parse({});
    return { max_request_ms, lambda_margin_ms };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`Breakwater routing config at ${path} is not valid JSON: ${(cause as Error).message}`);
  }
  const { max_request_ms, lambda_margin_ms } = compileConfig(raw, path).settings;
  return { max_request_ms, lambda_margin_ms };
}
