import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Context } from 'aws-lambda';
import type { Principal } from '../../gateway/Principal';
import type { IdempotentExecutor } from '../../idempotency/IdempotentExecutor';
import type { Deadline } from '../../resilience';
import type { ToolOutcome, ToolProxy } from '../../tools/ToolProxy';
import type { ToolCall } from '../../tools/types';
import type { GatewayResponse } from '../chat/sseResponse';
import { GatewayError } from '../../errors';
import { json } from '../json';
import type { RouteRequest, RouteTable } from '../router';
import { peekBody } from './peekBody';
import { toolCallFromEvent } from './toolCallFromEvent';

/** What the tool door needs of the gateway. */
export interface ToolDoor {
  authenticate(headers: Readonly<Record<string, string | undefined>>): Promise<Principal>;
  readonly tools: ToolProxy;
  /** The request's deadline, as every door computes it (GatewayEngine.requestDeadline). */
  requestDeadline(context: Context): Deadline;
  /** Fleet-wide Idempotency-Key records; without it a keyed call is only retried safely, not deduplicated. */
  readonly idempotency?: IdempotentExecutor;
}

/** A keyed call's outcome as stored for replay: JSON, the body in base64. */
type StoredOutcome =
  | { kind: 'response'; statusCode: number; headers: Record<string, string>; body: string }
  | { kind: 'held'; approvalId: string; expiresAt: number; rule: { method: string; path: string } };

/** A keyed call's answer is buffered to be stored; past this it is refused rather than held in memory. */
const MAX_KEYED_BODY_BYTES = 16 * 1024 * 1024;

/**
 * `ANY /v1/tools/{service}/{path+}` (and the service root): an agent's call to a third-party API,
 * authenticated with its virtual key, relayed with the service's credential. The answer is the
 * API's own status, headers and body (streamed), or 202 when a person must approve the call first.
 */
export const toolRoutes = (door: ToolDoor): RouteTable => {
  const handler = (request: RouteRequest) => serveToolCall(door, request);
  return {
    '/v1/tools/{service}': { ANY: handler },
    '/v1/tools/{service}/{path+}': { ANY: handler },
  };
};

async function serveToolCall(door: ToolDoor, { event, context, requestId, params }: RouteRequest): Promise<GatewayResponse> {
  const principal = await door.authenticate(event.headers);
  const call = toolCallFromEvent(event, params.service!);
  const deadline = door.requestDeadline(context);
  const caller = { tenant: principal.tenant.name, keyPrefix: principal.keyPrefix, keyId: principal.keyId, principal };
  if (call.idempotencyKey !== undefined && door.idempotency) {
    return serveKeyed(door.idempotency, call, { tenant: caller.tenant, context, requestId, run: () => door.tools.serve(call, caller, deadline) });
  }
  return render(await door.tools.serve(call, caller, deadline), call, requestId);
}

/**
 * A call with an Idempotency-Key runs once across the fleet: duplicates get the stored answer
 * (or the same approval) back, a duplicate while the first is in flight a 409. The answer is
 * buffered to be stored: keyed calls are writes, whose answers are small.
 */
async function serveKeyed(
  idempotency: IdempotentExecutor,
  call: ToolCall,
  options: { tenant: string; context: Context; requestId: string; run: () => Promise<ToolOutcome> },
): Promise<GatewayResponse> {
  const { value, replayed } = await idempotency.run<StoredOutcome>({
    tenant: options.tenant,
    key: call.idempotencyKey!,
    payload: {
      door: 'tools',
      service: call.service,
      method: call.method,
      path: call.path,
      query: call.query,
      body: createHash('sha256').update(call.body ?? Buffer.alloc(0)).digest('hex'),
    },
    lambdaContext: options.context,
    execute: async () => {
      const outcome = await options.run();
      if (outcome.kind === 'held') return { kind: 'held', approvalId: outcome.held.approvalId, expiresAt: outcome.held.expiresAt, rule: outcome.rule };
      const { statusCode, headers, body } = outcome.response;
      return { kind: 'response', statusCode, headers, body: (await readAll(body, call.service)).toString('base64') };
    },
  });
  const outcome: ToolOutcome =
    value.kind === 'held'
      ? { kind: 'held', held: { approvalId: value.approvalId, expiresAt: value.expiresAt }, rule: value.rule }
      : { kind: 'response', response: { statusCode: value.statusCode, headers: value.headers, body: Readable.from([Buffer.from(value.body, 'base64')]) } };
  const response = await render(outcome, call, options.requestId);
  return replayed ? { ...response, headers: { ...response.headers, 'idempotent-replayed': 'true' } } : response;
}

async function render(outcome: ToolOutcome, call: ToolCall, requestId: string): Promise<GatewayResponse> {
  if (outcome.kind === 'held') {
    const { held, rule } = outcome;
    return json(
      202,
      {
        object: 'breakwater.approval',
        id: held.approvalId,
        status: 'pending',
        code: 'approval_required',
        message: `${rule.method} ${rule.path} on "${call.service}" needs a person's approval; fetch the result with GET /v1/approvals/${held.approvalId}`,
        service: call.service,
        method: call.method,
        path_pattern: rule.path,
        expires_at: Math.floor(held.expiresAt / 1_000),
      },
      requestId,
      { location: `/v1/approvals/${encodeURIComponent(held.approvalId)}` },
    );
  }
  const { response } = outcome;
  return { statusCode: response.statusCode, headers: { ...response.headers, 'x-request-id': requestId }, body: await peekBody(response.body, call.service) };
}

async function readAll(body: Readable, service: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += bytes.length;
    if (size > MAX_KEYED_BODY_BYTES) {
      body.destroy();
      throw new GatewayError('service_failed', `the answer of service "${service}" is too large to keep under an Idempotency-Key`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}
