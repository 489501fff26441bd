import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import type { BreakwaterConfigInput } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import { startMockUpstream, type MockUpstream } from './mockUpstream';
import { startTestGateway, type TestGatewayOptions } from './startGateway';

/** Shared pieces of the end-to-end suite: keys, config builders, clients and error-shape checks. */

export const VIRTUAL_KEY = 'bw_test_e2e_key_0001_xxxxxxxxxxx';
export const OTHER_TENANT_KEY = 'bw_test_e2e_other_0001_xxxxxxxxx';
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

/** `{provider, override_params: {model}}`: a route target that sends `model` to `provider`. */
export const modelTarget = (provider: string, model: string) => ({ provider, override_params: { model } });

export interface E2EConfigOptions {
  providers: E2EConfig['providers'];
  routes: E2EConfig['routes'];
  /** Default: one tenant owning VIRTUAL_KEY whose default is the first route, the others picked by header. */
  tenants?: E2EConfig['tenants'];
  /** Merged over {@link testSettings}. */
  settings?: Record<string, unknown>;
}

/** The config most e2e gateways run: the given providers and routes, one tenant, test settings. */
export function e2eConfig(options: E2EConfigOptions): E2EConfig {
  const [route = '', ...others] = Object.keys(options.routes ?? {});
  return {
    providers: options.providers,
    routes: options.routes,
    tenants: options.tenants ?? tenant(route, others),
    settings: testSettings(options.settings),
  };
}

/** Mock upstreams by provider name, with the openai providers that point at them. */
export interface MockUpstreams<Name extends string> {
  readonly mocks: Readonly<Record<Name, MockUpstream>>;
  readonly providers: Record<Name, ReturnType<typeof openaiProvider>>;
  /** Forgets every mock's script and recorded requests (a suite's beforeEach). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts one mock upstream per name, in order. */
export async function startMocks<const Name extends string>(names: readonly Name[]): Promise<MockUpstreams<Name>> {
  const mocks = {} as Record<Name, MockUpstream>;
  const providers = {} as Record<Name, ReturnType<typeof openaiProvider>>;
  for (const name of names) {
    mocks[name] = await startMockUpstream();
    providers[name] = openaiProvider(mocks[name]);
  }
  const all = () => names.map((name) => mocks[name]);
  return {
    mocks,
    providers,
    reset: () => all().forEach((mock) => mock.reset()),
    close: async () => {
      for (const mock of all()) await mock.close();
    },
  };
}

export interface MockedGatewayOptions<Name extends string>
  extends Omit<TestGatewayOptions, 'config' | 'secrets'>,
    Omit<E2EConfigOptions, 'providers'> {
  /** Default: {@link upstreamSecrets} */
  secrets?: SecretSource;
  /** Provider names, each an openai provider backed by its own mock upstream. */
  upstreams: readonly Name[];
  /** Providers with no mock behind them (an unresolvable host, say), listed after the mocked ones. */
  otherProviders?: E2EConfig['providers'];
}

/** Mock upstreams and the real gateway in front of them: what most e2e suites start in `before`. */
export interface MockedGateway<Name extends string> extends MockUpstreams<Name> {
  readonly gateway: RunningServer;
  /** The gateway's chat completions URL, for raw requests. */
  readonly chatUrl: string;
}

/** Starts the mocks, then the gateway over them ({@link e2eConfig}); `close()` closes the gateway first. */
export async function startMockedGateway<const Name extends string>(
  options: MockedGatewayOptions<Name>,
): Promise<MockedGateway<Name>> {
  const { upstreams, otherProviders, routes, tenants, settings, ...gatewayOptions } = options;
  const mocked = await startMocks(upstreams);
  const config = e2eConfig({ providers: { ...mocked.providers, ...otherProviders }, routes, tenants, settings });
  const gateway = await startE2EGateway({ ...gatewayOptions, config });
  return {
    ...mocked,
    gateway,
    chatUrl: `${gateway.url}/v1/chat/completions`,
    close: async () => {
      await gateway.close();
      await mocked.close();
    },
  };
}

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

/** One entry of an error body's `attempts`. */
export interface AttemptRecord {
  target: string;
  attempt: number;
  status?: number;
  error?: string;
  duration_ms: number;
}

/** An SDK error's `attempts`, as sent. */
export const sdkErrorAttempts = (error: APIError) => sdkErrorBody(error).attempts as AttemptRecord[];

/** Attempts without their timings, which vary from run to run. */
export const withoutDurations = (attempts: readonly AttemptRecord[]) => attempts.map(({ duration_ms: _ms, ...rest }) => rest);

/** Every header value and the body of a response, as one string to search for secrets. */
export function everythingVisible(headers: Headers | undefined, body: string): string {
  const headerText = headers ? [...headers].map(([name, value]) => `${name}: ${value}`).join('\n') : '';
  return `${headerText}\n${body}`;
}

export const msSince = (start: number) => performance.now() - start;
