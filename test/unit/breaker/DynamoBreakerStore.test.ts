import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  admit,
  afterOutcome,
  BreakerState,
  CLOSED_RECORD,
  DynamoBreakerStore,
  EMPTY_WINDOW,
  TransitionReason,
  type OpenRecord,
  type Transition,
} from '../../../shared/breaker';

const TABLE = 'breakwater-breakers';
const KEY = 'openai|gpt-4o|https://api.openai.com/v1';
const NOW = 1_700_000_010_000;
const config = {
  failureThreshold: 1,
  failureRatePercent: 50,
  minimumRequests: 10,
  windowMs: 60_000,
  cooldownMs: 5_000,
  maxCooldownMs: 300_000,
};

const open: OpenRecord = {
  state: BreakerState.OPEN,
  version: 7,
  trips: 2,
  openedAt: NOW - 10_000,
  openUntil: NOW - 1,
  reason: TransitionReason.PROBE_FAILED,
};

describe('DynamoBreakerStore commands', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
  const store = new DynamoBreakerStore(doc, TABLE);
  beforeEach(() => ddb.reset());

  it('takes the probe lease with one UpdateItem conditional on state, cooldown and version', async () => {
    ddb.on(UpdateCommand).resolves({});
    const admission = admit(open, NOW, 30_000);
    assert.ok(admission.kind === 'probe');
    assert.equal(await store.transition(KEY, admission.transition), true);
    const calls = ddb.commandCalls(UpdateCommand);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.args[0].input, {
      TableName: TABLE,
      Key: { pk: KEY },
      UpdateExpression:
        'SET #state = :state, #version = :version, #trips = :trips, #opened_at = :opened_at, #open_until = :open_until, ' +
        '#probe_until = :probe_until, #reason = :reason, #updated_at = :now',
      ConditionExpression: '#version = :expected_version AND #state = :open AND #open_until <= :now',
      ExpressionAttributeNames: {
        '#state': 'state',
        '#version': 'version',
        '#trips': 'trips',
        '#opened_at': 'opened_at',
        '#open_until': 'open_until',
        '#probe_until': 'probe_until',
        '#reason': 'reason',
        '#updated_at': 'updated_at',
      },
      ExpressionAttributeValues: {
        ':now': NOW,
        ':state': 'half_open',
        ':version': 8,
        ':trips': 2,
        ':opened_at': NOW - 10_000,
        ':open_until': NOW - 1,
        ':probe_until': NOW + 30_000,
        ':reason': 'cooldown_elapsed',
        ':expected_version': 7,
        ':open': 'open',
      },
    });
  });

  it('takes over an expired lease only while it is still expired', async () => {
    ddb.on(UpdateCommand).resolves({});
    const halfOpen = { ...open, state: BreakerState.HALF_OPEN, version: 8, probeUntil: NOW } as const;
    const admission = admit(halfOpen, NOW, 30_000);
    assert.ok(admission.kind === 'probe');
    await store.transition(KEY, admission.transition);
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    assert.equal(input.ConditionExpression, '#version = :expected_version AND #state = :half_open AND #probe_until <= :now');
    assert.equal(input.ExpressionAttributeValues?.[':half_open'], 'half_open');
    assert.equal(input.ExpressionAttributeValues?.[':expected_version'], 8);
  });

  it('trips a never-written breaker only if nobody wrote it meanwhile; closing removes the open fields', async () => {
    ddb.on(UpdateCommand).resolves({});
    const { transition: tripped } = afterOutcome({
      record: CLOSED_RECORD,
      window: EMPTY_WINDOW,
      outcome: { kind: 'failure' },
      probe: false,
      now: NOW,
      config,
    });
    await store.transition(KEY, tripped!);
    const tripInput = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    assert.equal(tripInput.ConditionExpression, 'attribute_not_exists(#pk)');
    assert.equal(tripInput.ExpressionAttributeNames?.['#pk'], 'pk');
    assert.equal(tripInput.UpdateExpression?.endsWith(' REMOVE #probe_until'), true);

    const close: Transition = {
      from: { ...open, state: BreakerState.HALF_OPEN, version: 8, probeUntil: NOW + 30_000 },
      to: { state: BreakerState.CLOSED, version: 9, trips: 0, reason: TransitionReason.PROBE_SUCCEEDED },
      reason: TransitionReason.PROBE_SUCCEEDED,
      at: NOW,
    };
    await store.transition(KEY, close);
    const closeInput = ddb.commandCalls(UpdateCommand)[1]!.args[0].input;
    assert.equal(
      closeInput.UpdateExpression,
      'SET #state = :state, #version = :version, #trips = :trips, #reason = :reason, #updated_at = :now REMOVE #opened_at, #open_until, #probe_until',
    );
    assert.equal(closeInput.ConditionExpression, '#version = :expected_version');
    assert.equal(closeInput.ExpressionAttributeValues?.[':expected_version'], 8);
  });

  it('a failed condition is a lost race (false); any other error is thrown', async () => {
    const admission = admit(open, NOW, 30_000);
    assert.ok(admission.kind === 'probe');
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    assert.equal(await store.transition(KEY, admission.transition), false);
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    await assert.rejects(store.transition(KEY, admission.transition), { name: 'TimeoutError' });
  });

  it('reads with one consistent GetItem and parses the item', async () => {
    ddb.on(GetCommand).resolvesOnce({}).resolvesOnce({
      Item: { pk: KEY, state: 'open', version: 7, trips: 2, opened_at: open.openedAt, open_until: open.openUntil, reason: 'probe_failed', updated_at: NOW },
    });
    assert.deepEqual(await store.get(KEY), CLOSED_RECORD);
    assert.deepEqual(await store.get(KEY), open);
    assert.deepEqual(ddb.commandCalls(GetCommand)[0]!.args[0].input, { TableName: TABLE, Key: { pk: KEY }, ConsistentRead: true });
  });

  it('refuses a malformed item instead of guessing', async () => {
    ddb.on(GetCommand).resolves({ Item: { pk: KEY, state: 'ajar', version: 1 } });
    await assert.rejects(store.get(KEY), /unknown state ajar/);
    ddb.on(GetCommand).resolves({ Item: { pk: KEY, state: 'open', version: 1 } });
    await assert.rejects(store.get(KEY), /no numeric opened_at/);
  });
});
