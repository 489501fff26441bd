import type { ToolPriority } from '../types';
import type { ApprovalStatus } from './approvalStatus';

/** The upstream's answer to an approved call, kept for `GET /v1/approvals/{id}`. */
export interface ApprovalResult {
  status_code: number;
  headers: Record<string, string>;
  /** The body as UTF-8 text when it is text, else base64. */
  body: string;
  body_encoding: 'utf8' | 'base64';
  /** The body was longer than what is kept ({@link MAX_RESULT_BODY_BYTES}). */
  truncated: boolean;
}

/** One held call, as stored (`approval#<id>` in the approvals table). */
export interface ApprovalRecord {
  id: string;
  tenant: string;
  key_id: string;
  key_prefix: string;
  status: ApprovalStatus;
  service: string;
  method: string;
  path: string;
  query: string;
  /** The rule that held it (`POST /v1/refunds`). */
  rule: string;
  headers: Record<string, string>;
  /** Base64 of the request body, if any. */
  body?: string;
  end_user?: string;
  idempotency_key?: string;
  priority: ToolPriority;
  created_at: number;
  /** Epoch ms after which it can no longer be approved. */
  expires_at: number;
  decided_by?: string;
  decided_at?: number;
  reason?: string;
  /** Epoch ms by which a claimed run has reported back, or is `unknown`. */
  run_lease_until?: number;
  result?: ApprovalResult;
  error?: { code: string; message: string };
}

/** DynamoDB's items stop at 400 KB: the held body and the kept answer share what is left. */
export const MAX_HELD_BODY_BYTES = 96 * 1024;
export const MAX_RESULT_BODY_BYTES = 160 * 1024;

/** What clients and operators see: the record without the request's headers and body. */
export function approvalView(record: ApprovalRecord) {
  return {
    id: record.id,
    object: 'breakwater.approval',
    status: record.status,
    service: record.service,
    method: record.method,
    path: record.path,
    rule: record.rule,
    tenant: record.tenant,
    key_prefix: record.key_prefix,
    ...(record.end_user ? { end_user: record.end_user } : {}),
    created_at: Math.floor(record.created_at / 1_000),
    expires_at: Math.floor(record.expires_at / 1_000),
    ...(record.decided_at ? { decided_at: Math.floor(record.decided_at / 1_000), decided_by: record.decided_by } : {}),
    ...(record.reason ? { reason: record.reason } : {}),
    ...(record.result ? { result: record.result } : {}),
    ...(record.error ? { error: record.error } : {}),
  };
}
