import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApprovalRecord, ApprovalResult } from './ApprovalRecord';
import { APPROVAL_STATUS, type ApprovalStatus } from './approvalStatus';

/** A decided or finished approval is kept this long after it expired, for its result and the audit. */
const RETAIN_SECONDS = 30 * 24 * 3_600;

const isConditionFailure = (error: unknown) => (error as Error)?.name === 'ConditionalCheckFailedException';

/**
 * Approvals in DynamoDB (`approval#<id>`), every state change one conditional write, so two
 * people deciding at once, or two runners claiming at once, cannot both win: a call runs at most
 * once. The `by-status` index lists what waits for a decision.
 */
export class DynamoApprovalStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: ApprovalRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: key(record.id), ...record, ttl_at: Math.ceil(record.expires_at / 1_000) + RETAIN_SECONDS },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: key(id) }, ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  /** pending -> approved | rejected, only before it expires. False when it was not pending (or expired). */
  async decide(id: string, to: 'approved' | 'rejected', by: string, reason: string | undefined, now: number): Promise<boolean> {
    return this.transition(id, APPROVAL_STATUS.PENDING, to, now, {
      extraCondition: '#expires_at > :now',
      set: { decided_by: by, decided_at: now, ...(reason ? { reason } : {}) },
    });
  }

  /** pending -> expired once its time has passed. */
  expire(id: string, now: number): Promise<boolean> {
    return this.transition(id, APPROVAL_STATUS.PENDING, APPROVAL_STATUS.EXPIRED, now, { extraCondition: '#expires_at <= :now', set: {} });
  }

  /** approved -> running: exactly one claimant wins and runs the call. */
  claimRun(id: string, now: number, leaseUntil: number): Promise<boolean> {
    return this.transition(id, APPROVAL_STATUS.APPROVED, APPROVAL_STATUS.RUNNING, now, { set: { run_lease_until: leaseUntil } });
  }

  /** running -> succeeded | failed, with what the service answered or why it could not. */
  finish(id: string, now: number, outcome: { result: ApprovalResult } | { error: { code: string; message: string } }): Promise<boolean> {
    const to = 'result' in outcome ? APPROVAL_STATUS.SUCCEEDED : APPROVAL_STATUS.FAILED;
    return this.transition(id, APPROVAL_STATUS.RUNNING, to, now, { set: { ...outcome, finished_at: now } });
  }

  /** running -> unknown, once the runner's lease passed without a report: never run again. */
  abandon(id: string, now: number): Promise<boolean> {
    return this.transition(id, APPROVAL_STATUS.RUNNING, APPROVAL_STATUS.UNKNOWN, now, { extraCondition: '#lease < :now', set: {} });
  }

  /** Approvals in one status, newest first (the `by-status` index), optionally one tenant's. */
  async list(status: ApprovalStatus, options: { tenant?: string; limit?: number } = {}): Promise<ApprovalRecord[]> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'by-status',
        KeyConditionExpression: '#status = :status',
        ...(options.tenant ? { FilterExpression: '#tenant = :tenant' } : {}),
        ExpressionAttributeNames: { '#status': 'status', ...(options.tenant ? { '#tenant': 'tenant' } : {}) },
        ExpressionAttributeValues: { ':status': status, ...(options.tenant ? { ':tenant': options.tenant } : {}) },
        ScanIndexForward: false,
        Limit: options.limit ?? 100,
      }),
    );
    return (Items ?? []).map(fromItem);
  }

  private async transition(
    id: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    now: number,
    change: { extraCondition?: string; set: Record<string, unknown> },
  ): Promise<boolean> {
    const fields = Object.entries(change.set);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key(id) },
          UpdateExpression: `SET #status = :to${fields.map((_, i) => `, #f${i} = :f${i}`).join('')}`,
          ConditionExpression: `attribute_exists(pk) AND #status = :from${change.extraCondition ? ` AND ${change.extraCondition}` : ''}`,
          ExpressionAttributeNames: {
            '#status': 'status',
            ...(change.extraCondition?.includes('#expires_at') ? { '#expires_at': 'expires_at' } : {}),
            ...(change.extraCondition?.includes('#lease') ? { '#lease': 'run_lease_until' } : {}),
            ...Object.fromEntries(fields.map(([name], i) => [`#f${i}`, name])),
          },
          ExpressionAttributeValues: {
            ':to': to,
            ':from': from,
            ...(change.extraCondition?.includes(':now') ? { ':now': now } : {}),
            ...Object.fromEntries(fields.map(([, value], i) => [`:f${i}`, value])),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

const key = (id: string) => `approval#${id}`;

function fromItem(item: Record<string, unknown>): ApprovalRecord {
  const { pk: _pk, ttl_at: _ttl, finished_at: _finished, ...record } = item;
  return record as unknown as ApprovalRecord;
}
