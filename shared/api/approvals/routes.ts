import { GatewayError } from '../../errors';
import type { Principal } from '../../gateway/Principal';
import { approvalView, type Approvals, type ApprovalDecision } from '../../tools/approvals';
import type { GatewayEngine } from '../GatewayEngine';
import { json } from '../json';
import type { RouteRequest, RouteTable } from '../router';

export interface ApprovalsDoor {
  /** Undefined when the gateway has no approvals store: every route answers 404. */
  approvals: () => Approvals | undefined;
}

const isAdmin = (principal: Principal) => principal.policy.role === 'admin';

/**
 * `/v1/approvals`: the agent that was told `approval_required` fetches its call's outcome with
 * the id (which runs the call once it was approved); an admin key lists what waits and decides.
 * A non-admin key sees only its own tenant's approvals, and another tenant's id is a 404.
 */
export function approvalsRoutes(engine: GatewayEngine, door: ApprovalsDoor): RouteTable {
  const approvals = () => {
    const service = door.approvals();
    if (!service) throw new GatewayError('unknown_route', 'approvals need the state store, which this gateway has not got');
    return service;
  };
  const decide = (decision: ApprovalDecision) => async ({ event, context, requestId, params }: RouteRequest) => {
    const service = approvals();
    const principal = await engine.authenticate(event.headers);
    if (!isAdmin(principal)) throw new GatewayError('tool_not_allowed', 'deciding an approval needs an admin key');
    const reason = reasonOf(event.body, event.isBase64Encoded);
    const record = await service.decide(params.id!, decision, { id: `key:${principal.keyPrefix}` }, engine.requestDeadline(context), reason);
    return json(200, approvalView(record), requestId);
  };
  return {
    '/v1/approvals': {
      GET: async ({ event, requestId }) => {
        const service = approvals();
        const principal = await engine.authenticate(event.headers);
        const status = event.queryStringParameters?.status ?? 'pending';
        if (status !== 'pending') throw new GatewayError('invalid_request', 'only `status=pending` can be listed; fetch any other by its id', { details: { param: 'status' } });
        const records = await service.list(isAdmin(principal) ? {} : { tenant: principal.tenant.name });
        return json(200, { object: 'list', data: records.map(approvalView) }, requestId);
      },
    },
    '/v1/approvals/{id}': {
      GET: async ({ event, context, requestId, params }) => {
        const service = approvals();
        const principal = await engine.authenticate(event.headers);
        const record = await service.current(params.id!, engine.requestDeadline(context), isAdmin(principal) ? {} : { tenant: principal.tenant.name });
        return json(200, approvalView(record), requestId);
      },
    },
    '/v1/approvals/{id}/approve': { POST: decide('approve') },
    '/v1/approvals/{id}/reject': { POST: decide('reject') },
  };
}

/** An optional `{"reason": "..."}` body; anything else is a 400, never a 500. */
function reasonOf(body: string | null, base64: boolean): string | undefined {
  if (!body) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(base64 ? Buffer.from(body, 'base64').toString('utf8') : body);
  } catch {
    throw new GatewayError('invalid_request', 'the body must be JSON: {"reason": "..."}');
  }
  const reason = (parsed as { reason?: unknown } | null)?.reason;
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length > 1_000) {
    throw new GatewayError('invalid_request', '`reason` is a string of at most 1,000 characters', { details: { param: 'reason' } });
  }
  return reason;
}
