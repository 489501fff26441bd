import type { Clock } from '../resilience/clock';

/** What an admin did: one name per action, so audit lines can be counted and alerted on. */
export const ADMIN_ACTIONS = {
  KEY_CREATE: 'key.create',
  KEY_ROTATE: 'key.rotate',
  KEY_REVOKE: 'key.revoke',
  BREAKER_FORCE: 'breaker.force',
  DLQ_REDRIVE: 'dlq.redrive',
  APPROVAL_DECIDE: 'approval.decide',
  SPEND_CAP_TODAY: 'spend.cap_today',
  /** A read of the admin API (only refusals are audited: the console polls). */
  READ: 'read',
} as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[keyof typeof ADMIN_ACTIONS];

export interface AuditEntry {
  /** Who: `key:<display prefix>` (never the key), and the key's tenant. */
  actor: string;
  tenant: string;
  action: AdminAction;
  /** What it was done to: a key prefix, a breaker key, a tenant, an approval id, a queue. */
  target?: string;
  outcome: 'ok' | 'denied' | 'failed';
  /** The action's parameters (a reason, a cap, an expiry); never a key or a secret. */
  details?: Record<string, unknown>;
}

export interface AuditLogger {
  info(message: string, attributes: Record<string, unknown>): void;
}

/**
 * One structured line per admin action, `event: "admin_audit"`: who, what, to what, when, and
 * how it ended. Lines go to the function's log (CloudWatch Logs on AWS), where a metric filter
 * or Logs Insights query finds them; a refusal (a non-admin key) is audited too.
 */
export function auditAdminAction(logger: AuditLogger, clock: Pick<Clock, 'now'>, entry: AuditEntry): void {
  logger.info('admin action', { event: 'admin_audit', at: new Date(clock.now()).toISOString(), ...entry });
}
