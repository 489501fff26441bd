import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../stores/dynamo';
import type { BreakerStore } from './BreakerStore';
import { BreakerState, CLOSED_RECORD, type BreakerRecord, type Transition, type TransitionReason } from './state';
import { guardFor, type TransitionGuard } from './transition';

const PK = TABLES.breakers.partitionKey;

/**
 * Longer keys are stored by their hash. DynamoDB refuses a partition key over 2,048 bytes, and
 * a refused key reads as a store outage (the container falls back to in-container breakers),
 * which a long model name would otherwise trigger at will. Short keys stay readable in the table.
 */
export const MAX_PLAIN_KEY_BYTES = 512;

/** The item key for a target key: itself when short, else `sha256:<hex>` of it. */
export function breakerItemKey(targetKey: string): string {
  if (Buffer.byteLength(targetKey) <= MAX_PLAIN_KEY_BYTES) return targetKey;
  return `sha256:${createHash('sha256').update(targetKey).digest('hex')}`;
}

/**
 * Breaker state shared by the fleet: one item per target in the breakers table
 * (`pk`, `state`, `version`, `trips`, `opened_at`, `open_until`, `probe_until`, `reason`,
 * `updated_at`). Every write is one UpdateItem conditional on the transition's guard, so
 * exactly one of many racing containers takes a probe lease or records a trip.
 */
export class DynamoBreakerStore implements BreakerStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(targetKey: string): Promise<BreakerRecord> {
    // Strongly consistent: a container that just lost a probe race must see who won.
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [PK]: breakerItemKey(targetKey) }, ConsistentRead: true }),
    );
    return Item ? recordFromItem(Item) : CLOSED_RECORD;
  }

  async transition(targetKey: string, transition: Transition): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand(transitionUpdate(this.tableName, targetKey, transition)));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
        return false;
      }
      throw error;
    }
  }
}

/** The UpdateItem for a transition: the whole record is set (absent fields removed) under the guard. */
export function transitionUpdate(tableName: string, targetKey: string, transition: Transition): UpdateCommandInput {
  const { to, at } = transition;
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':now': at };
  const sets: string[] = [];
  const removes: string[] = [];
  const name = (attribute: string) => {
    names[`#${attribute}`] = attribute;
    return `#${attribute}`;
  };
  const put = (attribute: string, value: string | number | undefined) => {
    if (value === undefined) {
      removes.push(name(attribute));
      return;
    }
    sets.push(`${name(attribute)} = :${attribute}`);
    values[`:${attribute}`] = value;
  };

  put('state', to.state);
  put('version', to.version);
  put('trips', to.trips);
  put('opened_at', to.state === BreakerState.CLOSED ? undefined : to.openedAt);
  put('open_until', to.state === BreakerState.CLOSED ? undefined : to.openUntil);
  put('probe_until', to.state === BreakerState.HALF_OPEN ? to.probeUntil : undefined);
  put('reason', to.reason);
  // An operator's force (admin API): written with it, removed by the next transition; left out of
  // every other write, so the fleet's ordinary transitions stay the same command.
  if (to.note !== undefined || transition.from.note !== undefined) put('note', to.note);
  if (to.forcedUntil !== undefined || transition.from.forcedUntil !== undefined) put('forced_until', to.forcedUntil);
  sets.push(`${name('updated_at')} = :now`);

  const condition = conditionFor(guardFor(transition), names, values);
  return {
    TableName: tableName,
    Key: { [PK]: breakerItemKey(targetKey) },
    UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

function conditionFor(guard: TransitionGuard, names: Record<string, string>, values: Record<string, unknown>): string {
  if (guard.kind === 'absent') {
    names[`#${PK}`] = PK;
    return `attribute_not_exists(#${PK})`;
  }
  values[':expected_version'] = guard.version;
  const sameVersion = '#version = :expected_version';
  switch (guard.kind) {
    case 'version':
      return sameVersion;
    case 'cooldown_elapsed':
      values[':open'] = BreakerState.OPEN;
      return `${sameVersion} AND #state = :open AND #open_until <= :now`;
    case 'lease_expired':
      values[':half_open'] = BreakerState.HALF_OPEN;
      return `${sameVersion} AND #state = :half_open AND #probe_until <= :now`;
  }
}

const STATES: ReadonlySet<string> = new Set(Object.values(BreakerState));

function num(item: Record<string, unknown>, attribute: string): number {
  const value = item[attribute];
  if (typeof value !== 'number') throw new Error(`breaker item ${String(item[PK])} has no numeric ${attribute}`);
  return value;
}

/** Parses an item; a malformed one throws, which the caller treats like an unreachable store. */
export function recordFromItem(item: Record<string, unknown>): BreakerRecord {
  const state = item.state;
  if (typeof state !== 'string' || !STATES.has(state)) {
    throw new Error(`breaker item ${String(item[PK])} has an unknown state ${String(state)}`);
  }
  const base = {
    version: num(item, 'version'),
    trips: typeof item.trips === 'number' ? item.trips : 0,
    ...(typeof item.reason === 'string' ? { reason: item.reason as TransitionReason } : {}),
    ...(typeof item.note === 'string' ? { note: item.note } : {}),
    ...(typeof item.forced_until === 'number' ? { forcedUntil: item.forced_until } : {}),
  };
  if (state === BreakerState.CLOSED) return { state, ...base };
  const open = { ...base, openedAt: num(item, 'opened_at'), openUntil: num(item, 'open_until') };
  if (state === BreakerState.OPEN) return { state, ...open };
  return { state: BreakerState.HALF_OPEN, ...open, probeUntil: num(item, 'probe_until') };
}
