import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalSqs, type LocalSqs } from '../../bin/local/localSqs';
import type { BreakwaterConfigInput } from '../../shared/config';
import { startDynamoLocal, type DynamoLocal } from '../support/dynamoLocal';
import { fastRetry, openaiProvider, testSettings, upstreamSecrets } from '../support/e2eHarness';
import { startMockUpstream, type MockUpstream } from '../support/mockUpstream';
import { leastStall, sendHostile, type HostileRequest, type HostileResponse } from '../support/sendHostile';
import { startTaskGateway, type TaskGateway } from '../support/taskStack';

/*
 * Hostile input at every door, generated from small tables: encodings, sizes, nesting, header
 * values, ids, numbers and unicode. Each case must get a 4xx with the door's error shape and a
 * machine-readable code, must not reach the upstream, and must not block the event loop for
 * 100 ms. The gateway runs with every service on (DynamoDB Local, fauxqs), so every door is open.
 */

const KEY = 'bw_test_hostile_key_00000001_xxx';
const MAX_STALL_MS = 100;
/** The handler's body limit (the default `max_body_bytes`). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

type Json = Record<string, unknown>;

/** What a case expects: a status (one of) and, when known, the machine-readable code. */
interface Expected {
  status: number | number[];
  code?: string | string[];
}

interface HostileCase extends HostileRequest {
  name: string;
  expected: Expected;
  /**
   * Answered by API Gateway (locally, its emulation) before any door: in the OpenAI shape on
   * every path, /v1/messages included, as the stack's gateway responses give it (lib/GatewayApi.ts).
   */
  edge?: boolean;
}

/** A POST door: its valid body, and where its model, list, integer and fraction fields are. */
interface BodyDoor {
  name: string;
  path: string;
  body: Json;
  model: string[];
  list: string[];
  integer: string[];
  fraction?: string[];
}

const chatBody = { model: 'any', messages: [{ role: 'user', content: 'hi' }] };
const BODY_DOORS: BodyDoor[] = [
  { name: 'chat', path: '/v1/chat/completions', body: chatBody, model: ['model'], list: ['messages'], integer: ['max_tokens'], fraction: ['temperature'] },
  { name: 'embeddings', path: '/v1/embeddings', body: { model: 'any', input: 'hi' }, model: ['model'], list: ['input'], integer: ['dimensions'] },
  {
    name: 'responses',
    path: '/v1/responses',
    body: { model: 'any', input: 'hi' },
    model: ['model'],
    list: ['input'],
    integer: ['max_output_tokens'],
    fraction: ['temperature'],
  },
  {
    name: 'messages',
    path: '/v1/messages',
    body: { model: 'any', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
    model: ['model'],
    list: ['messages'],
    integer: ['max_tokens'],
    fraction: ['temperature'],
  },
  {
    name: 'tasks',
    path: '/v1/tasks',
    body: { request: chatBody },
    model: ['request', 'model'],
    list: ['request', 'messages'],
    integer: ['request', 'max_tokens'],
    fraction: ['request', 'temperature'],
  },
];

/** A copy of `body` with `value` at `path`. */
function withField(body: Json, path: string[], value: unknown): Json {
  const copy = structuredClone(body);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Json;
  node[path.at(-1)!] = value;
  return copy;
}

/** The body as JSON text with `literal` (not valid JSON on its own: `NaN`, `1e400`) at `path`. */
function withLiteral(body: Json, path: string[], literal: string): string {
  return JSON.stringify(withField(body, path, '\u0000LITERAL\u0000')).replace('"\\u0000LITERAL\\u0000"', literal);
}

/** `depth` arrays inside each other, as JSON text. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const BAD_REQUEST = { status: 400, code: 'invalid_request' };
const UNAUTHORIZED = { status: 401, code: 'invalid_api_key' };
const TOO_LARGE = { status: 413, code: 'payload_too_large' };
const UNKNOWN_ROUTE = { status: 404, code: 'unknown_route' };
const HEADERS_TOO_LARGE = { status: 431, code: 'request_header_fields_too_large' };
/** Bytes, not a string: encoding 11 MB in the test's own process would count as a stall. */
const ELEVEN_MB = Buffer.alloc(11 * 1024 * 1024, 'x');

/** Every body-borne case, for one POST door. */
function bodyCases(door: BodyDoor): HostileCase[] {
  const json = JSON.stringify(door.body);
  const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const post = (name: string, body: string | Buffer | Json | undefined, expected: Expected, extra: Partial<HostileCase> = {}): HostileCase => ({
    name: `${door.name}: ${name}`,
    method: 'POST',
    path: door.path,
    headers: { ...auth, ...extra.headers },
    body: body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    via: extra.via,
    edge: extra.edge,
    expected,
  });
  const model = (value: unknown) => withField(door.body, door.model, value);
  const cases: HostileCase[] = [
    // Encodings.
    post('truncated JSON', json.slice(0, -5), BAD_REQUEST),
    post('a trailing comma', `${json.slice(0, -1)},}`, BAD_REQUEST),
    post('garbage after the JSON', `${json}x`, BAD_REQUEST),
    post('two JSON documents', `${json}${json}`, BAD_REQUEST),
    post('a UTF-8 byte-order mark before the JSON', `\uFEFF${json}`, BAD_REQUEST),
    post('the JSON in UTF-16LE', Buffer.from(json, 'utf16le'), BAD_REQUEST),
    post('binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]), BAD_REQUEST),
    post('invalid UTF-8 inside its first field\'s name', Buffer.concat([Buffer.from(json.slice(0, 4)), Buffer.from([0xc3, 0x28]), Buffer.from(json.slice(4))]), BAD_REQUEST),
    post('a percent-encoded body', encodeURIComponent(json), BAD_REQUEST),
    post('a form-encoded body', 'model=any&messages=hi', BAD_REQUEST, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    post('an empty body', undefined, BAD_REQUEST),
    post('`null`', 'null', BAD_REQUEST),
    post('an array', '[]', BAD_REQUEST),
    post('a JSON string', '"hello"', BAD_REQUEST),
    post('NaN as a value', withLiteral(door.body, door.integer, 'NaN'), BAD_REQUEST),
    post('Infinity as a value', withLiteral(door.body, door.integer, 'Infinity'), BAD_REQUEST),
    // Sizes.
    post(`a body one byte over ${MAX_BODY_BYTES} bytes`, JSON.stringify({ ...door.body, pad: 'x'.repeat(MAX_BODY_BYTES) }), TOO_LARGE),
    post('an 11 MB body (over API Gateway\'s 10 MB)', ELEVEN_MB, TOO_LARGE, { edge: true }),
    post('a 1 MB model name', model('m'.repeat(1024 * 1024)), BAD_REQUEST),
    post('a 257-character model name', model('m'.repeat(257)), BAD_REQUEST),
    // Five times the lists' bound: large enough that a per-item refusal would show (zod's issues for
    // 300,000 bad items took seconds), small enough that parsing the body itself stays well inside the stall budget.
    post('50,000 empty objects in its list', withField(door.body, door.list, Array.from({ length: 50_000 }, () => ({}))), BAD_REQUEST),
    post('50,000 numbers in its list', withField(door.body, door.list, Array.from({ length: 50_000 }, () => -1.5)), BAD_REQUEST),
    // Nesting.
    post('65 levels of nesting', JSON.stringify({ ...door.body, deep: JSON.parse(nested(64)) }), BAD_REQUEST),
    post('10,000 levels of nesting', `${json.slice(0, -1)},"deep":${nested(10_000)}}`, BAD_REQUEST),
    post('1,000,000 levels of nesting', `${json.slice(0, -1)},"deep":${nested(1_000_000)}}`, BAD_REQUEST),
    post('1,000,000 levels of nesting, never closed', `${json.slice(0, -1)},"deep":${'['.repeat(1_000_000)}`, BAD_REQUEST),
    post('a deep object in its model field', model(JSON.parse(`${'{"a":'.repeat(60)}1${'}'.repeat(60)}`)), BAD_REQUEST),
    // Numbers.
    post('a negative integer', withField(door.body, door.integer, -1), BAD_REQUEST),
    post('zero where a positive integer goes', withField(door.body, door.integer, 0), BAD_REQUEST),
    post('a fraction where an integer goes', withField(door.body, door.integer, 1.5), BAD_REQUEST),
    post('1e400 (Infinity once parsed)', withLiteral(door.body, door.integer, '1e400'), BAD_REQUEST),
    post('-1e400', withLiteral(door.body, door.integer, '-1e400'), BAD_REQUEST),
    post('"NaN" as a string', withField(door.body, door.integer, 'NaN'), BAD_REQUEST),
    post('a number as a string', withField(door.body, door.integer, '16'), BAD_REQUEST),
    post('a boolean where a number goes', withField(door.body, door.integer, true), BAD_REQUEST),
    post('a number as its model', model(1e308), BAD_REQUEST),
    // Unicode in the model name (it keys breakers, reaches headers and logs).
    post('a lone high surrogate in the model', withLiteral(door.body, door.model, '"gpt-\\ud800"'), BAD_REQUEST),
    post('a lone low surrogate in the model', withLiteral(door.body, door.model, '"\\udfff"'), BAD_REQUEST),
    post('a right-to-left override in the model', model('gpt\u202e4o'), BAD_REQUEST),
    post('a zero-width space in the model', model('gpt\u200b4o'), BAD_REQUEST),
    post('a zero-width joiner alone as the model', model('\u200d'), BAD_REQUEST),
    post('a NUL in the model', model('gpt\u00004o'), BAD_REQUEST),
    post('CR LF in the model (header splitting)', model('gpt\r\nx-injected: 1'), BAD_REQUEST),
    post('a line separator in the model', model('gpt\u20284o'), BAD_REQUEST),
    post('an empty model', model(''), BAD_REQUEST),
    // Header values.
    post('a 300-character Idempotency-Key', json, BAD_REQUEST, { headers: { 'idempotency-key': 'k'.repeat(300) } }),
    post('a 60 KB Idempotency-Key', json, HEADERS_TOO_LARGE, { headers: { 'idempotency-key': 'k'.repeat(60 * 1024) }, edge: true }),
    post('a 9 KB Idempotency-Key (under API Gateway\'s header limit)', json, BAD_REQUEST, { headers: { 'idempotency-key': 'k'.repeat(9 * 1024) } }),
    post('a 60 KB Idempotency-Key handed to the function', json, BAD_REQUEST, { headers: { 'idempotency-key': 'k'.repeat(60 * 1024) }, via: 'event' }),
    post('an empty quoted Idempotency-Key', json, BAD_REQUEST, { headers: { 'idempotency-key': '""' } }),
    post('a Latin-1 Idempotency-Key', json, BAD_REQUEST, { headers: { 'idempotency-key': 'clé-1' } }),
    post('an Idempotency-Key with a control character', json, BAD_REQUEST, { headers: { 'idempotency-key': 'key\u0001one' }, via: 'event' }),
    post('an Idempotency-Key beyond Latin-1', json, BAD_REQUEST, { headers: { 'idempotency-key': 'ключ-\u{1F511}' }, via: 'event' }),
    post('an x-breakwater-route beyond Latin-1', json, UNKNOWN_ROUTE, { headers: { 'x-breakwater-route': 'маршрут\u202e' }, via: 'event' }),
    post('an x-breakwater-route with CR LF', json, UNKNOWN_ROUTE, { headers: { 'x-breakwater-route': 'main\r\nx-evil: 1' }, via: 'event' }),
    post('a 9 KB x-breakwater-route', json, UNKNOWN_ROUTE, { headers: { 'x-breakwater-route': 'r'.repeat(9 * 1024) } }),
    post('a 64 KB x-breakwater-route handed to the function', json, UNKNOWN_ROUTE, { headers: { 'x-breakwater-route': 'r'.repeat(64 * 1024) }, via: 'event' }),
    post('`__proto__` as x-breakwater-route', json, UNKNOWN_ROUTE, { headers: { 'x-breakwater-route': '__proto__' } }),
    post('a 64 KB bearer token', json, HEADERS_TOO_LARGE, { headers: { authorization: `Bearer ${'b'.repeat(64 * 1024)}` }, edge: true }),
    post('a 9 KB bearer token', json, UNAUTHORIZED, { headers: { authorization: `Bearer ${'b'.repeat(9 * 1024)}` } }),
    post('a 64 KB bearer token handed to the function', json, UNAUTHORIZED, { headers: { authorization: `Bearer ${'b'.repeat(64 * 1024)}` }, via: 'event' }),
    post('a bearer token with a control character', json, UNAUTHORIZED, { headers: { authorization: `Bearer ${KEY}\u0000` }, via: 'event' }),
    post('a bearer token beyond Latin-1', json, UNAUTHORIZED, { headers: { authorization: `Bearer ${KEY.slice(0, -1)}\u{1F511}` }, via: 'event' }),
  ];
  if (door.fraction) {
    cases.push(
      post('1e308 as the temperature', withField(door.body, door.fraction, 1e308), BAD_REQUEST),
      post('-1e308 as the temperature', withField(door.body, door.fraction, -1e308), BAD_REQUEST),
    );
  }
  return cases;
}

/** `GET` and `DELETE` on the `{id}` paths, with ids no client should send. */
function idCases(): HostileCase[] {
  const doors: Array<{ name: string; prefix: string; methods: string[]; notFound: string }> = [
    { name: 'models', prefix: '/v1/models/', methods: ['GET'], notFound: 'model_not_found' },
    { name: 'tasks', prefix: '/v1/tasks/', methods: ['GET', 'DELETE'], notFound: 'task_not_found' },
    { name: 'responses', prefix: '/v1/responses/', methods: ['GET', 'DELETE'], notFound: 'response_not_found' },
  ];
  const malformed = ['%', '%zz', '%E0%A4%A', '%C0%AE', '%ED%A0%80', '%FF'];
  const unknown = ['%00', '%2e%2e', '..%2f..%2fetc', 'x'.repeat(10_000), `resp_${'é'.repeat(1000)}`, '%F0%9F%98%80', '%E2%80%AE%E2%80%8B', '__proto__', `task_${'0'.repeat(32)}`];
  return doors.flatMap(({ name, prefix, methods, notFound }) =>
    methods.flatMap((method) => [
      ...malformed.map((id) => ({ name: `${method} ${name}: a malformed percent-encoding (${id})`, method, path: `${prefix}${id}`, expected: BAD_REQUEST })),
      ...unknown.map((id) => ({
        name: `${method} ${name}: an id that cannot exist (${id.length > 40 ? `${id.slice(0, 12)}… ${id.length} characters` : id})`,
        method,
        path: `${prefix}${encodeURI(id).replace(/%25/g, '%')}`,
        // A client resolves `%2e%2e` before sending: what arrives is the parent path.
        expected: { status: 404, code: id === '%2e%2e' ? 'unknown_route' : notFound },
      })),
    ]),
  ).map((hostile) => ({ ...hostile, headers: { authorization: `Bearer ${KEY}` } }));
}

/** `GET /v1/tasks` with page parameters that are not numbers or ids. */
function listCases(): HostileCase[] {
  const queries = ['limit=1e308', 'limit=-1', 'limit=0', 'limit=1.5', 'limit=NaN', 'limit=abc', 'limit=101', 'limit=0x10', 'after=%zz', `after=${'a'.repeat(5000)}`, 'after=task_%00'];
  return queries.map((query) => ({
    name: `GET tasks list: ?${query.slice(0, 30)}`,
    method: 'GET',
    path: `/v1/tasks?${query}`,
    headers: { authorization: `Bearer ${KEY}` },
    expected: BAD_REQUEST,
  }));
}

/** Paths that are almost a door. */
function pathCases(): HostileCase[] {
  const json = JSON.stringify(chatBody);
  const paths: Array<[method: string, path: string, body: string | undefined, expected: Expected]> = [
    ['POST', '/v1/chat%2Fcompletions', json, UNKNOWN_ROUTE],
    ['POST', '/v1/chat/completions%00', json, UNKNOWN_ROUTE],
    ['POST', '/V1/CHAT/COMPLETIONS', json, UNKNOWN_ROUTE],
    ['POST', `/v1/${'a/'.repeat(2000)}`, json, UNKNOWN_ROUTE],
    ['PATCH', '/v1/chat/completions', json, { status: 405, code: 'method_not_allowed' }],
    ['PUT', '/v1/tasks', json, { status: 405, code: 'method_not_allowed' }],
    ['POST', '/v1/messages/%zz', json, UNKNOWN_ROUTE],
    ['POST', '/v1/messages/count_tokens', '{"model":', BAD_REQUEST],
    ['POST', '/v1/messages/count_tokens', JSON.stringify({ model: 'gpt\u202e', messages: [] }), BAD_REQUEST],
  ];
  return paths.map(([method, path, body, expected]) => ({
    name: `${method} ${path.slice(0, 40)}${path.length > 40 ? '…' : ''}: not a door`,
    method,
    path,
    body,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    expected,
  }));
}

const CASES: HostileCase[] = [...BODY_DOORS.flatMap(bodyCases), ...idCases(), ...listCases(), ...pathCases()];

/** `{"error":{"message","type","code"}}`, or Anthropic's `{"type":"error","error":{"type","message","details":{"error_code"}}}` under /v1/messages. */
function errorCodeOf(hostile: HostileCase, response: HostileResponse): string {
  assert.match(response.contentType, /^application\/json/, 'a JSON error');
  const body = response.json as { type?: unknown; error?: Record<string, unknown> } | undefined;
  assert.ok(body && typeof body.error === 'object' && body.error !== null, `an error object: ${response.text.slice(0, 200)}`);
  const { error } = body;
  assert.equal(typeof error.message, 'string');
  assert.ok((error.message as string).length > 0, 'a message');
  assert.equal(typeof error.type, 'string');
  if (hostile.path.startsWith('/v1/messages') && !hostile.edge) {
    assert.equal(body.type, 'error', "Anthropic's shape");
    const code = (error.details as { error_code?: unknown } | undefined)?.error_code;
    assert.equal(typeof code, 'string', 'details.error_code');
    return code as string;
  }
  assert.equal(typeof error.code, 'string', 'error.code');
  return error.code as string;
}

describe('e2e: hostile input at every door is a 4xx with a code, no upstream call, no event-loop stall', () => {
  let dynamo: DynamoLocal;
  let queues: LocalSqs;
  let mock: MockUpstream;
  let gateway: TaskGateway;
  const stalls: Array<{ name: string; stallMs: number; runs: number }> = [];

  before(async () => {
    [dynamo, queues, mock] = await Promise.all([
      startDynamoLocal(),
      startLocalSqs({ env: { AWS_REGION: 'us-east-1' }, prefix: `hostile-${Date.now().toString(36)}` }),
      startMockUpstream(),
    ]);
    const config: BreakwaterConfigInput = {
      providers: { upstream: openaiProvider(mock) },
      routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: 'gpt-4o-mini' } }] } },
      tenants: { hostile: { route: 'main', keys: [KEY], daily_budget_usd: 100, rpm_limit: 1_000_000 } },
      settings: testSettings(),
    };
    gateway = await startTaskGateway({ config, dynamo, queues, secrets: upstreamSecrets });
    // Warm: the key is cached and the JIT has seen every door once, so a stall is the input's.
    for (const door of BODY_DOORS) await sendHostile(gateway, { method: 'POST', path: door.path, headers: { authorization: `Bearer ${KEY}` }, body: '{' });
    await sendHostile(gateway, { method: 'GET', path: '/v1/tasks/x', headers: { authorization: `Bearer ${KEY}` } });
  });

  after(async () => {
    const worst = [...stalls].sort((a, b) => b.stallMs - a.stallMs).slice(0, 3);
    const rerun = stalls.filter((s) => s.runs > 1);
    console.log(
      `hostile inputs: ${stalls.length} cases, upstream calls ${mock?.requests.length}, ` +
        `worst event-loop stalls: ${worst.map((s) => `${s.stallMs.toFixed(0)} ms (${s.name}${s.runs > 1 ? `, best of ${s.runs}` : ''})`).join('; ')}; ` +
        `${rerun.length} cases run again after a first stall of ${MAX_STALL_MS} ms or more${rerun.length > 0 ? ` (${rerun.map((s) => s.name).join('; ')})` : ''}`,
    );
    await gateway?.close();
    await queues?.close();
    await mock?.close();
    await dynamo?.stop();
  });

  it(`has at least 200 cases across every door (${CASES.length})`, () => {
    assert.ok(CASES.length >= 200, `${CASES.length} cases`);
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v1/responses', '/v1/messages', '/v1/tasks', '/v1/models/', '/v1/tasks/', '/v1/responses/']) {
      assert.ok(CASES.some((hostile) => hostile.path.startsWith(path)), path);
    }
  });

  for (const hostile of CASES) {
    it(`guarantee: ${hostile.name}`, { timeout: 30_000 }, async () => {
      const calls = mock.requests.length;
      const { result: response, stallMs, runs } = await leastStall(() => sendHostile(gateway, hostile), MAX_STALL_MS);
      stalls.push({ name: hostile.name, stallMs, runs });

      const statuses = [hostile.expected.status].flat();
      assert.ok(statuses.includes(response.status), `status ${response.status}, expected ${statuses.join(' or ')}: ${response.text.slice(0, 300)}`);
      const code = errorCodeOf(hostile, response);
      if (hostile.expected.code) assert.ok([hostile.expected.code].flat().includes(code), `code ${code}: ${response.text.slice(0, 300)}`);
      assert.equal(mock.requests.length, calls, 'no upstream call');
      assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled ${stallMs.toFixed(0)} ms (least of ${runs} runs)`);
    });
  }
});
