import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import type { BreakwaterConfigInput } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import type { MockUpstream } from './mockUpstream';
import { startTestGateway, type TestGatewayOptions } from './startGateway';

/** Shared pieces of the end-to-end suite: keys, config builders, clients and error-shape checks. */

export const VIRTUAL_KEY = 'bw_test_e2e_key_0001';
export const OTHER_TENANT_KEY = 'bw_test_e2e_other_0001';
export const UPSTREAM_KEY = 'sk-test-upstream-0001';

/** The secret store every e2e gateway reads its upstream credential from. */
export const upstreamSecrets: SecretSource = { get: async () => ({ api_key: UPSTREAM_KEY }) };

/** Small backoff so retries cost milliseconds, not seconds. */
export const fastRetry = (attempts = 2, extra: Record<string, unknown> = {}) => ({
  attempts,
  base_delay_ms: 5,
  max_delay_ms: 20,
  ...extra,
});

/**
 * Settings for tests: the retry budget is opened wide so that many scripted failures in one
 * file never run into the per-target budget (which is per container, i.e. per gateway).
 */
export const testSettings = (extra: Record<string, unknown> = {}) => ({
  retry_budget: { ratio: 1, min_retries_per_window: 1_000, window_ms: 10_000 },
  ...extra,
});

export const openaiProvider = (mock: Pick<MockUpstream, 'baseUrl'> | string) => ({
  type: 'openai' as const,
  base_url: typeof mock === 'string' ? mock : mock.baseUrl,
  credential: 'upstream',
});

/** One tenant owning VIRTUAL_KEY whose default route is `route`. */
export const tenant = (route: string, allowedRoutes: string[] = []) => ({
  e2e: { route, allowed_routes: allowedRoutes, keys: [VIRTUAL_KEY] },
});

export type E2EConfig = BreakwaterConfigInput;

/** An SDK client with its own retries off, so what is measured is the gateway's retries. */
export const sdkClient = (gatewayUrl: string, apiKey = VIRTUAL_KEY, defaultHeaders?: Record<string, string>) =>
  new OpenAI({ apiKey, baseURL: `${gatewayUrl}/v1`, maxRetries: 0, timeout: 15_000, defaultHeaders });

export const hello = [{ role: 'user' as const, content: 'hello' }];

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** A plain fetch for what the SDK will not send; the body is sent as given when it is a string. */
export async function raw(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; auth?: string | null } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  const auth = init.auth === undefined ? VIRTUAL_KEY : init.auth;
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string; [extra: string]: unknown };
}

/** Asserts the OpenAI error shape `{"error":{"message","type","code"}}` and the exact code/type. */
export function assertErrorBody(body: unknown, expected: { code: string; type: string }): OpenAiErrorBody {
  assert.ok(body !== null && typeof body === 'object', `error body is a JSON object, got ${JSON.stringify(body)}`);
  const error = (body as { error?: unknown }).error;
  assert.ok(error !== null && typeof error === 'object', `body has an "error" object: ${JSON.stringify(body)}`);
  const { message, type, code } = error as Record<string, unknown>;
  assert.equal(typeof message, 'string', 'error.message is a string');
  assert.ok((message as string).length > 0, 'error.message is not empty');
  assert.equal(type, expected.type);
  assert.equal(code, expected.code);
  return body as OpenAiErrorBody;
}

/** Asserts a raw response is the given 4xx error, with the OpenAI error shape. */
export function assertClientError(response: RawResponse, status: number, code: string, type = 'invalid_request_error') {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${response.text}`);
  assert.ok(response.status >= 400 && response.status < 500, 'client mistakes are 4xx, never 5xx');
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return assertErrorBody(response.json, { code, type });
}

/** Starts the real gateway with the e2e upstream secret unless the test brings its own. */
export const startE2EGateway = (options: Omit<TestGatewayOptions, 'secrets'> & { secrets?: SecretSource }): Promise<RunningServer> =>
  startTestGateway({ secrets: upstreamSecrets, ...options });

/** Awaits a call that must fail with an HTTP error and returns the SDK's error. */
export async function sdkError(call: Promise<unknown>): Promise<APIError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  assert.fail('expected the SDK call to fail with an HTTP error');
}

/** The `error` object of an SDK error's body (the SDK keeps `body.error` as `error`). */
export const sdkErrorBody = (error: APIError) => error.error as OpenAiErrorBody['error'];

/** Every header value and the body of a response, as one string to search for secrets. */
export function everythingVisible(headers: Headers | undefined, body: string): string {
  const headerText = headers ? [...headers].map(([name, value]) => `${name}: ${value}`).join('\n') : '';
  return `${headerText}\n${body}`;
}

export const msSince = (start: number) => performance.now() - start;
