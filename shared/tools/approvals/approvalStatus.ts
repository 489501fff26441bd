/**
 * An approval's life: `pending` until a person decides or it expires; an approved call is
 * claimed (`running`) by exactly one runner and ends `succeeded` (the service answered, whatever
 * its status) or `failed` (it could not be reached). A run that never reported back (its
 * container died) is `unknown`, never run again: the call may have had its side effect.
 */
export const APPROVAL_STATUS = {
  PENDING: 'pending',
  APPROVED: 'approved',
  REJECTED: 'rejected',
  EXPIRED: 'expired',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  UNKNOWN: 'unknown',
} as const;
export type ApprovalStatus = (typeof APPROVAL_STATUS)[keyof typeof APPROVAL_STATUS];

export const APPROVAL_DECISIONS = { APPROVE: 'approve', REJECT: 'reject' } as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[keyof typeof APPROVAL_DECISIONS];
