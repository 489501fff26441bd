import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LedgerCounter, LedgerItem, ReserveOutcome, ReserveRequest, SpendLedger } from './SpendLedger';

const isConditionFailure = (error: unknown) => (error as { name?: unknown } | undefined)?.name === 'ConditionalCheckFailedException';

/** The old item DynamoDB returns with a failed condition is raw AttributeValues; numbers are all we read. */
function plainItem(raw: unknown): LedgerItem | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const item: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw as Record<string, AttributeValue>)) {
    if (value.N !== undefined) item[name] = Number(value.N);
    else if (value.S !== undefined) item[name] = value.S;
  }
  return item;
}

/**
 * {@link SpendLedger} on the spend table (partition key `pk`, TTL `expires_at`).
 *
 * DynamoDB conditions cannot add, so "total + amount <= cap" is asked as
 * `total <= :cap_minus_estimate`, with the subtraction done here; `ADD` then applies the amount
 * in the same atomic write. Two requests racing for the last dollars are serialised by DynamoDB:
 * the second one sees the first one's total.
 */
export class DynamoSpendLedger implements SpendLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async reserve({ key, counters, amount, expiresAt }: ReserveRequest): Promise<ReserveOutcome> {
    const names: Record<string, string> = { '#expires_at': 'expires_at' };
    const values: Record<string, unknown> = { ':estimate': amount, ':expires_at': expiresAt };
    const conditions: string[] = [];
    for (const { label, attribute, cap } of counters) {
      names[`#${label}`] = attribute;
      if (cap === undefined) continue;
      values[`:${label}_cap_minus_estimate`] = cap - amount;
      conditions.push(`(attribute_not_exists(#${label}) OR #${label} <= :${label}_cap_minus_estimate)`);
    }
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: `ADD ${counters.map(({ label }) => `#${label} :estimate`).join(', ')} SET #expires_at = :expires_at`,
          ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { reserved: true, item: Attributes ?? {} };
    } catch (error) {
      if (isConditionFailure(error)) return { reserved: false, item: plainItem((error as { Item?: unknown }).Item) };
      throw error;
    }
  }

  async adjust(key: string, counters: readonly LedgerCounter[], delta: number): Promise<LedgerItem> {
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: key },
        UpdateExpression: `ADD ${counters.map(({ label }) => `#${label} :delta`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(counters.map(({ label, attribute }) => [`#${label}`, attribute])),
        ExpressionAttributeValues: { ':delta': delta },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes ?? {};
  }

  async setFlagOnce(key: string, flag: string, value: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: 'SET #flag = :value',
          ConditionExpression: 'attribute_not_exists(#flag)',
          ExpressionAttributeNames: { '#flag': flag },
          ExpressionAttributeValues: { ':value': value },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
