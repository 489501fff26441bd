import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dayAttribute, dayCapAttribute, MONTH_ATTRIBUTE, spendKey } from '../budget/SpendGuard';
import { microsToUsd, usdToMicros } from '../budget/cost';
import { budgetWindows } from '../budget/windows';

/** A ledger scope's spend in the current UTC day and month. */
export interface SpendNow {
  dayUsd: number;
  monthUsd: number;
  /** The operator's cap for today, when one is set (it replaces the policy's daily cap today). */
  dayCapOverrideUsd?: number;
}

const numberAt = (item: Record<string, unknown> | undefined, attribute: string) => {
  const value = item?.[attribute];
  return typeof value === 'number' ? value : 0;
};

/**
 * Reads the spend ledger for the console (the same items SpendGuard writes: `spend#<scope>#<month>`)
 * and sets today's cap override on them. Reads are eventually consistent: a console can lag a
 * write by a moment, the guard never does (its writes are conditional).
 */
export class SpendOverview {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(scope: string, now: number): Promise<SpendNow> {
    const windows = budgetWindows(now);
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: spendKey(scope, windows) } }));
    const override = Item?.[dayCapAttribute(windows)];
    return {
      dayUsd: microsToUsd(numberAt(Item, dayAttribute(windows))),
      monthUsd: microsToUsd(numberAt(Item, MONTH_ATTRIBUTE)),
      ...(typeof override === 'number' ? { dayCapOverrideUsd: microsToUsd(override) } : {}),
    };
  }

  /**
   * Sets (or with `undefined` removes) today's cap for a tenant. The override lives on the
   * month's item, named by the day, so tomorrow's requests never see it; the item keeps its TTL.
   */
  async setDayCap(tenant: string, capUsd: number | undefined, now: number): Promise<void> {
    const windows = budgetWindows(now);
    const key = { pk: spendKey(tenant, windows) };
    if (capUsd === undefined) {
      await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, Key: key, UpdateExpression: 'REMOVE #cap', ExpressionAttributeNames: { '#cap': dayCapAttribute(windows) } }),
      );
      return;
    }
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #cap = :cap, #expires_at = if_not_exists(#expires_at, :expires_at)',
        ExpressionAttributeNames: { '#cap': dayCapAttribute(windows), '#expires_at': 'expires_at' },
        ExpressionAttributeValues: { ':cap': usdToMicros(capUsd), ':expires_at': windows.spendExpiresAt },
      }),
    );
  }
}
