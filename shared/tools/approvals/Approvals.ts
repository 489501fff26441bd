import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { CompiledConfig } from '../../config';
import { GatewayError, isGatewayError } from '../../errors';
import type { Principal } from '../../gateway/Principal';
import type { Clock } from '../../resilience/clock';
import type { Deadline } from '../../resilience/deadline';
import type { ApprovalGate, HeldCall, ToolCall, ToolCallExecutor, ToolCaller } from '../types';
import { MAX_HELD_BODY_BYTES, MAX_RESULT_BODY_BYTES, type ApprovalRecord, type ApprovalResult } from './ApprovalRecord';
import { APPROVAL_STATUS, type ApprovalDecision } from './approvalStatus';
import type { DynamoApprovalStore } from './DynamoApprovalStore';

export interface ApprovalsLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface ApprovalsOptions {
  store: DynamoApprovalStore;
  config: CompiledConfig;
  clock: Clock;
  logger: ApprovalsLogger;
  /** The tool proxy, which itself holds this gate: given late to break the cycle. */
  executor: () => ToolCallExecutor | undefined;
}

/** How long an approval waits for a person when its rule says nothing: a working day and a night. */
export const DEFAULT_APPROVAL_EXPIRY_MS = 24 * 3_600_000;
/** A claimed run reports back within its deadline; past this margin it is taken to have died. */
const RUN_LEASE_MARGIN_MS = 60_000;

/** Who decided, for the record and the audit line. */
export interface Decider {
  /** `key:bw_live_ab12` for an admin key, `cli:<user>` for the CLI. */
  id: string;
}

/**
 * Human approval of high-stakes tool calls. A held call is stored whole (method, path, safe
 * headers, body) and waits for a decision; an approved call runs once, claimed by one
 * conditional write, by whichever comes first: the approving request, or the agent asking for
 * its result (`GET /v1/approvals/{id}`), which is how a decision made in the CLI gets run. A
 * rejected or expired call never runs.
 */
export class Approvals implements ApprovalGate {
  constructor(private readonly options: ApprovalsOptions) {}

  async hold(call: ToolCall, caller: ToolCaller, rule: { method: string; path: string }): Promise<HeldCall> {
    if (call.body && call.body.byteLength > MAX_HELD_BODY_BYTES) {
      throw new GatewayError('payload_too_large', `a call held for approval carries at most ${MAX_HELD_BODY_BYTES / 1024} KB of body`);
    }
    const now = this.options.clock.now();
    const expiresAfter =
      this.options.config.services
        .get(call.service)
        ?.high_stakes.find((candidate) => candidate.method === rule.method && candidate.path === rule.path)?.expires_after_ms ??
      DEFAULT_APPROVAL_EXPIRY_MS;
    const record: ApprovalRecord = {
      id: `apv_${randomBytes(16).toString('hex')}`,
      tenant: caller.tenant,
      key_id: caller.keyId,
      key_prefix: caller.keyPrefix,
      status: APPROVAL_STATUS.PENDING,
      service: call.service,
      method: call.method,
      path: call.path,
      query: call.query,
      rule: `${rule.method} ${rule.path}`,
      headers: call.headers,
      ...(call.body ? { body: call.body.toString('base64') } : {}),
      ...(call.endUser ? { end_user: call.endUser } : {}),
      ...(call.idempotencyKey ? { idempotency_key: call.idempotencyKey } : {}),
      priority: call.priority,
      created_at: now,
      expires_at: now + expiresAfter,
    };
    await this.stored(() => this.options.store.create(record));
    this.options.logger.info('tool call held for approval', {
      event: 'approval_held',
      approval_id: record.id,
      tenant: record.tenant,
      key_prefix: record.key_prefix,
      service: record.service,
      rule: record.rule,
    });
    return { approvalId: record.id, expiresAt: record.expires_at };
  }

  /**
   * A person's decision. Approving runs the call now (within `deadline`) and answers with its
   * outcome; a decision on an approval that is no longer pending is a 409.
   */
  async decide(id: string, decision: ApprovalDecision, decider: Decider, deadline: Deadline | undefined, reason?: string): Promise<ApprovalRecord> {
    const { store, clock, logger } = this.options;
    const to = decision === 'approve' ? APPROVAL_STATUS.APPROVED : APPROVAL_STATUS.REJECTED;
    const decided = await this.stored(() => store.decide(id, to, decider.id, reason, clock.now()));
    let record = await this.mustGet(id);
    if (!decided) {
      record = await this.settleExpiry(record);
      throw new GatewayError('approval_not_pending', `approval ${id} is ${record.status}; only a pending approval can be decided`);
    }
    logger.info('approval decided', { event: 'approval_decided', approval_id: id, decision: to, decided_by: decider.id, tenant: record.tenant });
    if (to === APPROVAL_STATUS.APPROVED && deadline) record = await this.runOnce(record, deadline);
    return record;
  }

  /** The approval as it stands, running it first if it was approved and has not run yet. */
  async current(id: string, deadline: Deadline, scope: { tenant?: string }): Promise<ApprovalRecord> {
    let record = await this.mustGet(id);
    if (scope.tenant !== undefined && record.tenant !== scope.tenant) throw notFound(id);
    record = await this.settleExpiry(record);
    if (record.status === APPROVAL_STATUS.APPROVED) record = await this.runOnce(record, deadline);
    return record;
  }

  list(options: { tenant?: string; limit?: number } = {}): Promise<ApprovalRecord[]> {
    return this.stored(() => this.options.store.list(APPROVAL_STATUS.PENDING, options));
  }

  /** Claims the run (one claimant wins), runs the call through the proxy and records what happened. */
  private async runOnce(record: ApprovalRecord, deadline: Deadline): Promise<ApprovalRecord> {
    const { store, clock, logger } = this.options;
    const executor = this.options.executor();
    if (!executor) throw new GatewayError('tool_state_unavailable', 'the tool proxy is not enabled on this gateway');
    const now = clock.now();
    const claimed = await this.stored(() => store.claimRun(record.id, now, now + deadline.remainingMs() + RUN_LEASE_MARGIN_MS));
    if (!claimed) return this.mustGet(record.id);

    let outcome: { result: ApprovalResult } | { error: { code: string; message: string } };
    try {
      const response = await executor.execute(toolCallOf(record), this.callerOf(record), deadline, { approvalId: record.id });
      outcome = { result: await keepResult(response.statusCode, response.headers, response.body) };
    } catch (error) {
      outcome = {
        error: isGatewayError(error) ? { code: error.code, message: error.message } : { code: 'service_failed', message: 'the call could not be completed' },
      };
    }
    // The call ran: its outcome must be recorded even if the request's own deadline has passed.
    const finished = await store.finish(record.id, clock.now(), outcome).catch((error: unknown) => {
      logger.warn('approval outcome not recorded', { approval_id: record.id, error: (error as Error)?.name });
      return false;
    });
    logger.info('approved call ran', {
      event: 'approval_ran',
      approval_id: record.id,
      tenant: record.tenant,
      service: record.service,
      status: 'result' in outcome ? outcome.result.status_code : undefined,
      error_code: 'error' in outcome ? outcome.error.code : undefined,
      recorded: finished,
    });
    return { ...record, status: 'result' in outcome ? APPROVAL_STATUS.SUCCEEDED : APPROVAL_STATUS.FAILED, ...outcome };
  }

  /** A pending approval past its time becomes `expired`; a run that never reported back, `unknown`. */
  private async settleExpiry(record: ApprovalRecord): Promise<ApprovalRecord> {
    const now = this.options.clock.now();
    if (record.status === APPROVAL_STATUS.PENDING && record.expires_at <= now) {
      await this.stored(() => this.options.store.expire(record.id, now));
      return this.mustGet(record.id);
    }
    if (record.status === APPROVAL_STATUS.RUNNING && (record.run_lease_until ?? Infinity) < now) {
      await this.stored(() => this.options.store.abandon(record.id, now));
      return this.mustGet(record.id);
    }
    return record;
  }

  /** The caller the approved call runs for: the same tenant and key, under the tenant's current policy. */
  private callerOf(record: ApprovalRecord): ToolCaller {
    const tenant = this.options.config.tenants.get(record.tenant);
    if (!tenant) throw new GatewayError('tool_not_allowed', `tenant "${record.tenant}" is no longer configured`);
    const principal: Principal = { tenant, keyPrefix: record.key_prefix, keyId: record.key_id, policy: tenant.policy };
    return { tenant: record.tenant, keyPrefix: record.key_prefix, keyId: record.key_id, principal };
  }

  private async mustGet(id: string): Promise<ApprovalRecord> {
    const record = await this.stored(() => this.options.store.get(id));
    if (!record) throw notFound(id);
    return record;
  }

  /** A store that cannot be reached is a 503, never a 500: nothing was decided or run. */
  private async stored<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isGatewayError(error)) throw error;
      throw new GatewayError('tool_state_unavailable', 'the approvals store could not be reached; try again', { cause: error });
    }
  }
}

const notFound = (id: string) => new GatewayError('approval_not_found', `no approval "${id}"`);

function toolCallOf(record: ApprovalRecord): ToolCall {
  return {
    service: record.service,
    method: record.method,
    path: record.path,
    query: record.query,
    headers: record.headers,
    ...(record.body ? { body: Buffer.from(record.body, 'base64') } : {}),
    ...(record.end_user ? { endUser: record.end_user } : {}),
    ...(record.idempotency_key ? { idempotencyKey: record.idempotency_key } : {}),
    priority: record.priority,
  };
}

/** Reads the answer up to what an item can keep, then lets the rest go. */
async function keepResult(statusCode: number, headers: Record<string, string>, body: Readable): Promise<ApprovalResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (size + buffer.byteLength > MAX_RESULT_BODY_BYTES) {
      chunks.push(buffer.subarray(0, MAX_RESULT_BODY_BYTES - size));
      truncated = true;
      body.destroy();
      break;
    }
    chunks.push(buffer);
    size += buffer.byteLength;
  }
  const bytes = Buffer.concat(chunks);
  const text = /^(text\/|application\/(json|xml|x-www-form-urlencoded)|[^;]*\+json)/i.test(headers['content-type'] ?? '');
  return {
    status_code: statusCode,
    headers,
    body: text ? bytes.toString('utf8') : bytes.toString('base64'),
    body_encoding: text ? 'utf8' : 'base64',
    truncated,
  };
}
