import { ADMIN_ACTIONS, auditAdminAction, type AdminAction, type AuditLogger } from '../../admin/auditLog';
import type { AdminStores } from '../../admin/AdminStores';
import { breakerTargets } from '../../admin/breakerTargets';
import { forceBreaker } from '../../admin/forceBreaker';
import type { RecentRequests } from '../../admin/RecentRequests';
import { GatewayError } from '../../errors';
import { SHOWN_ONCE } from '../../middleware/redactResponses';
import type { Principal } from '../../gateway/Principal';
import { keyRefFromInput, keyState, type KeyPolicy, type KeyRecord } from '../../keys';
import type { Clock } from '../../resilience/clock';
import { TASK_STATUSES } from '../../tasks/taskStatus';
import { approvalView, type ApprovalDecision, type Approvals } from '../../tools/approvals';
import type { GatewayEngine } from '../GatewayEngine';
import { json } from '../json';
import type { RouteRequest, RouteTable } from '../router';
import { capTodayBody, createKeyBody, forceBreakerBody, keyStoreFailure, parseBody, reasonBody, rotateKeyBody } from './adminInput';
import { approvalsView, breakerView, dlqView, overviewView, tasksView, targetsView, tenantsView, type AdminContext } from './adminViews';

export interface AdminDoor {
  /** Where the audit lines go (the function's structured log). */
  logger: AuditLogger;
  clock: Pick<Clock, 'now'>;
  /** This container's rolling summary of the requests it served. */
  recent: RecentRequests;
  /** The approvals service, when the gateway has one. */
  approvals: () => Approvals | undefined;
}

/** A route's work, given the request and, once the key is known to be an admin's, what the views read. */
type Handler = (request: RouteRequest, admin: { principal: Principal; stores: AdminStores; view: AdminContext }) => Promise<unknown>;

const TASK_STATUS_VALUES: ReadonlySet<string> = new Set(Object.values(TASK_STATUSES));

/**
 * `/v1/admin/...`: the operator console's API. Every route needs an admin key (a key whose
 * policy has `"role": "admin"`: `keys create --admin`); any other key gets 403 `admin_required`,
 * and that refusal is audited. Every action (not the reads, which the console polls) writes one
 * audit line: who (the key's prefix), what, to what, when, and how it ended.
 */
export function adminRoutes(engine: GatewayEngine, door: AdminDoor): RouteTable {
  const route = (action: AdminAction, handler: Handler, target?: (request: RouteRequest) => string | undefined) => async (request: RouteRequest) => {
    const principal = await engine.authenticate(request.event.headers);
    const audit = (outcome: 'ok' | 'denied' | 'failed', details?: Record<string, unknown>) =>
      auditAdminAction(door.logger, door.clock, {
        actor: `key:${principal.keyPrefix}`,
        tenant: principal.tenant.name,
        action,
        target: target?.(request),
        outcome,
        ...(details ? { details } : {}),
      });
    if (principal.policy.role !== 'admin') {
      audit('denied', { path: request.event.path, method: request.event.httpMethod });
      throw new GatewayError('admin_required', 'the admin API needs an admin key (one whose policy has "role": "admin"; see `keys create --admin`)');
    }
    const stores = engine.services.admin;
    if (!stores) throw new GatewayError('unknown_route', 'the admin API needs the state store, which this gateway has not got');
    const view: AdminContext = { config: engine.config, services: engine.services, stores, recent: door.recent, approvals: door.approvals(), now: door.clock.now() };
    try {
      const result = await handler(request, { principal, stores, view });
      if (action !== ADMIN_ACTIONS.READ) audit('ok', detailsOf(result));
      const response = json(action === ADMIN_ACTIONS.KEY_CREATE ? 201 : 200, result, request.requestId, { 'cache-control': 'no-store' });
      // A created key is shown this once: the response redaction lets exactly that value through.
      const shown = (result as { key?: unknown } | null)?.key;
      return action === ADMIN_ACTIONS.KEY_CREATE || action === ADMIN_ACTIONS.KEY_ROTATE ? Object.assign(response, { [SHOWN_ONCE]: shown }) : response;
    } catch (error) {
      if (action !== ADMIN_ACTIONS.READ) audit('failed', { code: (error as { code?: unknown }).code ?? (error as Error).name });
      throw error;
    }
  };
  const read = (handler: Handler) => route(ADMIN_ACTIONS.READ, handler);

  const decide = (decision: ApprovalDecision) =>
    route(
      ADMIN_ACTIONS.APPROVAL_DECIDE,
      async ({ event, context, params }, { principal }) => {
        const approvals = door.approvals();
        if (!approvals) throw new GatewayError('admin_not_found', 'this gateway holds no approvals (no approvals store)');
        const { reason } = parseBody(reasonBody, event.body, event.isBase64Encoded);
        const record = await approvals.decide(params.id!, decision, { id: `key:${principal.keyPrefix}` }, engine.requestDeadline(context), reason);
        return withAudit(approvalView(record), { decision, reason });
      },
      ({ params }) => params.id,
    );

  return {
    '/v1/admin/overview': { GET: read(async (_request, { view }) => overviewView(view)) },
    '/v1/admin/requests': { GET: read(async (_request, { view }) => view.recent.summary()) },
    '/v1/admin/targets': { GET: read(async (_request, { view }) => ({ object: 'list', data: await targetsView(view) })) },
    '/v1/admin/targets/force': {
      POST: route(ADMIN_ACTIONS.BREAKER_FORCE, async ({ event }, { principal, stores }) => {
        const body = parseBody(forceBreakerBody, event.body, event.isBase64Encoded);
        if (!breakerTargets(engine.config).some((target) => target.key === body.target)) {
          throw new GatewayError('admin_not_found', 'no configured target has that breaker key (GET /v1/admin/targets lists them)', { details: { param: 'target' } });
        }
        const now = door.clock.now();
        const record = await forceBreaker(
          stores.breakers,
          body.target,
          { state: body.state, until: now + body.expires_in_seconds * 1_000, note: `${body.reason} (key:${principal.keyPrefix})` },
          () => door.clock.now(),
        );
        return withAudit({ key: body.target, ...breakerView(record, now) }, { target: body.target, state: body.state, reason: body.reason, expires_in_seconds: body.expires_in_seconds });
      }),
    },
    '/v1/admin/tenants': { GET: read(async (_request, { view }) => ({ object: 'list', data: await tenantsView(view) })) },
    '/v1/admin/tenants/{tenant}/cap-today': {
      POST: route(
        ADMIN_ACTIONS.SPEND_CAP_TODAY,
        async ({ event, params }, { stores }) => {
          const tenant = engine.config.tenants.get(params.tenant!);
          if (!tenant) throw new GatewayError('admin_not_found', 'no tenant of that name in the config');
          const body = parseBody(capTodayBody, event.body, event.isBase64Encoded);
          if (tenant.policy.daily_budget_usd === undefined && tenant.policy.monthly_budget_usd === undefined) {
            // Without any cap the guard writes no spend item per request, so there is nothing to override.
            throw new GatewayError('admin_conflict', `tenant "${tenant.name}" has no daily or monthly cap in the config; set one there first`);
          }
          await stores.spend.setDayCap(tenant.name, body.daily_budget_usd ?? undefined, door.clock.now());
          return withAudit(
            { tenant: tenant.name, daily_budget_usd_today: body.daily_budget_usd ?? tenant.policy.daily_budget_usd ?? null, override: body.daily_budget_usd !== null },
            { daily_budget_usd: body.daily_budget_usd, policy_daily_budget_usd: tenant.policy.daily_budget_usd ?? null, reason: body.reason },
          );
        },
        ({ params }) => params.tenant,
      ),
    },
    '/v1/admin/keys': {
      POST: route(ADMIN_ACTIONS.KEY_CREATE, async ({ event }, { stores }) => {
        const body = parseBody(createKeyBody, event.body, event.isBase64Encoded);
        if (!engine.config.tenants.has(body.tenant)) {
          throw new GatewayError('admin_not_found', `no tenant "${body.tenant}" in the config: the gateway would refuse its key`, { details: { param: 'tenant' } });
        }
        const policy: KeyPolicy = { ...body.policy, ...(body.admin ? { role: 'admin' as const } : {}) };
        const created = await stores.keys
          .create({ tenant: body.tenant, name: body.name, policy, expiresInSeconds: body.expires_in_seconds })
          .catch((error: unknown) => {
            throw keyStoreFailure(error);
          });
        // The only time the key is shown; the audit line carries its prefix only.
        return withAudit({ key: created.key, ...keyView(created.record, door.clock.now()) }, { created: created.record.prefix, tenant: body.tenant, admin: body.admin === true });
      }),
    },
    '/v1/admin/keys/{prefix}/revoke': {
      POST: route(
        ADMIN_ACTIONS.KEY_REVOKE,
        async ({ params }, { stores }) => {
          const record = await stores.keys.revoke(keyRefFromInput(params.prefix!)).catch((error: unknown) => {
            throw keyStoreFailure(error);
          });
          // This container stops accepting it at once; the others within their key cache's bound (30 s).
          engine.services.keyResolver?.clear();
          return keyView(record, door.clock.now());
        },
        ({ params }) => shortRef(params.prefix!),
      ),
    },
    '/v1/admin/keys/{prefix}/rotate': {
      POST: route(
        ADMIN_ACTIONS.KEY_ROTATE,
        async ({ event, params }, { stores }) => {
          const body = parseBody(rotateKeyBody, event.body, event.isBase64Encoded);
          const rotated = await stores.keys
            .rotate(keyRefFromInput(params.prefix!), body.grace_seconds ?? 0, { expiresInSeconds: body.expires_in_seconds })
            .catch((error: unknown) => {
              throw keyStoreFailure(error);
            });
          engine.services.keyResolver?.clear();
          const now = door.clock.now();
          return withAudit({ key: rotated.key, ...keyView(rotated.record, now), previous: keyView(rotated.previous, now) }, { created: rotated.record.prefix, grace_seconds: body.grace_seconds ?? 0 });
        },
        ({ params }) => shortRef(params.prefix!),
      ),
    },
    '/v1/admin/tasks': {
      GET: read(async ({ event }, { view }) => {
        const { status, tenant } = event.queryStringParameters ?? {};
        if (status !== undefined && !TASK_STATUS_VALUES.has(status)) {
          throw new GatewayError('invalid_request', `status must be one of ${[...TASK_STATUS_VALUES].join(', ')}`, { details: { param: 'status' } });
        }
        if (tenant !== undefined && !engine.config.tenants.has(tenant)) throw new GatewayError('admin_not_found', 'no tenant of that name in the config');
        return { object: 'list', ...(await tasksView(view, { status, tenant })) };
      }),
    },
    '/v1/admin/dlq': { GET: read(async (_request, { view }) => dlqView(view)) },
    '/v1/admin/dlq/redrive': {
      POST: route(ADMIN_ACTIONS.DLQ_REDRIVE, async (_request, { stores }) => {
        if (!stores.deadLetters) throw new GatewayError('admin_not_found', 'this gateway has no dead-letter queue configured');
        const results = await stores.deadLetters.redrive();
        const data = results.map(({ url, ...result }) => ({ queue: url.split('/').pop(), ...result }));
        return withAudit({ object: 'list', data }, { queues: data.map((result) => result.queue), moved: results.map((result) => (result.mode === 'copy' ? result.moved : 'move_task')) });
      }),
    },
    '/v1/admin/approvals': { GET: read(async (_request, { view }) => ({ object: 'list', ...(await approvalsView(view)) })) },
    '/v1/admin/approvals/{id}/approve': { POST: decide('approve') },
    '/v1/admin/approvals/{id}/reject': { POST: decide('reject') },
  };
}

/** What the console shows of a key: never the key, never its hash. */
function keyView(record: KeyRecord, now: number) {
  return {
    prefix: record.prefix,
    tenant: record.tenant,
    name: record.name ?? null,
    status: keyState(record, now),
    role: record.policy.role ?? null,
    created_at: new Date(record.createdAt).toISOString(),
    expires_at: record.expiresAt === undefined ? null : new Date(record.expiresAt).toISOString(),
    revoked_at: record.revokedAt === undefined ? null : new Date(record.revokedAt).toISOString(),
  };
}

/** A path naming a whole key (pasted by mistake) is audited by its prefix only. */
const shortRef = (ref: string) => (ref.length > 16 ? `${ref.slice(0, 12)}…` : ref);

const AUDIT = Symbol('audit details');
/** A result that carries extra details for its audit line (not sent). */
function withAudit<T extends object>(result: T, details: Record<string, unknown>): T {
  return Object.assign(result, { [AUDIT]: details });
}
/** Symbol keys are not serialised by JSON.stringify: the details never reach the response. */
const detailsOf = (result: unknown) => (typeof result === 'object' && result !== null ? (result as { [AUDIT]?: Record<string, unknown> })[AUDIT] : undefined);
