import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { DLQ_ENV, OUTPUTS } from '../../lib/GatewayStack.js';
import { QUEUE_ENV } from '../../shared/queue/queueEnv.js';
import {
  actionsOnResource,
  environmentOf,
  gatewayFunction,
  gatewayRoleId,
  liveAliasId,
  referencedIds,
  resourcesOfType,
  synth,
  useSynthesizedStack,
  workerFunction,
  workerRoleId,
  type CfnTemplate,
} from './synthStack.js';

const stack = useSynthesizedStack();
const { scratch } = stack;

interface QueueIds {
  high: string;
  normal: string;
  dlqHigh: string;
  dlqNormal: string;
}

/** Logical ids of the four queues: the main ones through the env vars the gateway reads, the DLQs through the outputs the CLI reads. */
function queueIds(template: CfnTemplate = stack.json): QueueIds {
  const env = environmentOf(gatewayFunction(template)[1]);
  const queue = (value: unknown, name: string) => {
    const id = (value as { Ref?: string } | undefined)?.Ref;
    assert.ok(id, `${name} should Ref a queue`);
    assert.equal(template.Resources[id]?.Type, 'AWS::SQS::Queue', name);
    return id;
  };
  return {
    high: queue(env[QUEUE_ENV.HIGH_URL], QUEUE_ENV.HIGH_URL),
    normal: queue(env[QUEUE_ENV.NORMAL_URL], QUEUE_ENV.NORMAL_URL),
    dlqHigh: queue(template.Outputs?.[OUTPUTS.DLQ_HIGH_URL]?.Value, OUTPUTS.DLQ_HIGH_URL),
    dlqNormal: queue(template.Outputs?.[OUTPUTS.DLQ_NORMAL_URL]?.Value, OUTPUTS.DLQ_NORMAL_URL),
  };
}

const props = (id: string, template: CfnTemplate = stack.json) => template.Resources[id]!.Properties ?? {};

describe('task queues', () => {
  it('has a high and a normal queue, each with its own dead-letter queue', () => {
    const ids = queueIds();
    assert.equal(resourcesOfType(stack.json, 'AWS::SQS::Queue').length, 4);
    assert.equal(new Set(Object.values(ids)).size, 4);
    assert.deepEqual(props(ids.high)['RedrivePolicy'], {
      deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlqHigh, 'Arn'] },
      maxReceiveCount: 5,
    });
    assert.deepEqual(props(ids.normal)['RedrivePolicy'], {
      deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlqNormal, 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  it('encrypts every queue with SQS-managed keys', () => {
    for (const [name, id] of Object.entries(queueIds())) {
      assert.equal(props(id)['SqsManagedSseEnabled'], true, name);
      assert.equal(props(id)['KmsMasterKeyId'], undefined, name);
    }
  });

  it('denies every request not made over TLS, on every queue', () => {
    const ids = queueIds();
    const enforced = new Set<string>();
    for (const [, policy] of resourcesOfType(stack.json, 'AWS::SQS::QueuePolicy')) {
      const statements = (policy.Properties?.['PolicyDocument'] as { Statement: Array<Record<string, unknown>> }).Statement;
      const denies = statements.some(
        (s) =>
          s['Effect'] === 'Deny' &&
          s['Action'] === 'sqs:*' &&
          JSON.stringify(s['Principal']) === JSON.stringify({ AWS: '*' }) &&
          JSON.stringify(s['Condition']) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
      if (!denies) continue;
      for (const q of policy.Properties?.['Queues'] as Array<{ Ref: string }>) enforced.add(q.Ref);
    }
    assert.deepEqual([...enforced].sort(), Object.values(ids).sort());
  });

  it('sets the visibility timeout to at least six times the worker timeout', () => {
    const ids = queueIds();
    const workerTimeout = workerFunction(stack.json)[1].Properties?.['Timeout'] as number;
    assert.equal(workerTimeout, 120);
    for (const id of [ids.high, ids.normal]) {
      const visibility = props(id)['VisibilityTimeout'] as number;
      assert.ok(visibility >= 6 * workerTimeout, `${visibility} < 6 × ${workerTimeout}`);
      assert.equal(visibility, 720);
    }
  });

  it('follows a custom worker timeout', () => {
    const custom = synth(scratch, { workerTimeout: Duration.seconds(45) }).json;
    const ids = queueIds(custom);
    assert.equal(workerFunction(custom)[1].Properties?.['Timeout'], 45);
    assert.equal(props(ids.high, custom)['VisibilityTimeout'], 270);
    assert.equal(props(ids.normal, custom)['VisibilityTimeout'], 270);
  });

  it("refuses a worker timeout whose visibility timeout would pass SQS's 12 h", () => {
    assert.throws(
      () => synth(scratch, { workerTimeout: Duration.hours(2.5) }),
      /visibility timeout of 54000 s, over SQS's 12 h limit/,
    );
  });

  it('keeps dead letters 14 days, past the source queues’ 4', () => {
    const ids = queueIds();
    assert.equal(props(ids.dlqHigh)['MessageRetentionPeriod'], 1_209_600);
    assert.equal(props(ids.dlqNormal)['MessageRetentionPeriod'], 1_209_600);
    assert.equal(props(ids.high)['MessageRetentionPeriod'], 345_600);
  });
});

describe('worker event sources', () => {
  function mappings(template: CfnTemplate) {
    return resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties ?? {});
  }

  it('feeds the worker from both queues, batches of 10, partial batch failures, max concurrency 20 / 5', () => {
    const ids = queueIds();
    const [workerId] = workerFunction(stack.json);
    const bySource = new Map(mappings(stack.json).map((m) => [JSON.stringify(m['EventSourceArn']), m]));
    assert.equal(bySource.size, 2);
    for (const [queueId, concurrency] of [[ids.high, 20], [ids.normal, 5]] as const) {
      const mapping = bySource.get(JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] }));
      assert.ok(mapping, `no event source for ${queueId}`);
      // The live alias, so a release shifts queue traffic too.
      assert.deepEqual(referencedIds(mapping['FunctionName']), new Set([liveAliasId(stack.json, workerId)]));
      assert.equal(mapping['BatchSize'], 10);
      assert.deepEqual(mapping['FunctionResponseTypes'], ['ReportBatchItemFailures']);
      assert.deepEqual(mapping['ScalingConfig'], { MaximumConcurrency: concurrency });
    }
  });

  it('takes maxConcurrency from the stack props', () => {
    const custom = synth(scratch, { highPriorityMaxConcurrency: 50, normalPriorityMaxConcurrency: 3 }).json;
    const ids = queueIds(custom);
    const bySource = new Map(mappings(custom).map((m) => [JSON.stringify(m['EventSourceArn']), m]));
    assert.deepEqual(bySource.get(JSON.stringify({ 'Fn::GetAtt': [ids.high, 'Arn'] }))?.['ScalingConfig'], {
      MaximumConcurrency: 50,
    });
    assert.deepEqual(bySource.get(JSON.stringify({ 'Fn::GetAtt': [ids.normal, 'Arn'] }))?.['ScalingConfig'], {
      MaximumConcurrency: 3,
    });
  });

  it("refuses a maxConcurrency outside Lambda's 2..1000", () => {
    assert.throws(() => synth(scratch, { normalPriorityMaxConcurrency: 1 }), /maxConcurrency must be an integer from 2 to 1000.*got 1/);
    assert.throws(() => synth(scratch, { highPriorityMaxConcurrency: 1001 }), /got 1001/);
  });

  it('does not feed the worker from the dead-letter queues', () => {
    const ids = queueIds();
    const sources = mappings(stack.json).map((m) => JSON.stringify(m['EventSourceArn']));
    for (const dlq of [ids.dlqHigh, ids.dlqNormal]) assert.ok(!sources.some((s) => s.includes(dlq)), dlq);
  });

  it('runs the worker with the gateway’s runtime, architecture, tracing and bundle config', () => {
    const [, worker] = workerFunction(stack.json);
    const p = worker.Properties ?? {};
    assert.equal(p['Runtime'], 'nodejs24.x');
    assert.deepEqual(p['Architectures'], ['arm64']);
    assert.deepEqual(p['TracingConfig'], { Mode: 'Active' });
    assert.equal(p['MemorySize'], 512);
    assert.equal(p['Handler'], 'index.handler');
    const env = environmentOf(worker);
    assert.equal(env['BREAKWATER_CONFIG'], '/var/task/breakwater.config.json');
    assert.equal(env['NODE_OPTIONS'], undefined, 'source-mapped traces are opt-in (sourceMapStackTraces)');
    assert.equal(env['POWERTOOLS_LOG_LEVEL'], 'INFO');
  });
});

describe('queue permissions and wiring', () => {
  it('gateway may send to both task queues, and nothing else on SQS', () => {
    const ids = queueIds();
    const roleId = gatewayRoleId(stack.json);
    const send = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
    assert.deepEqual(actionsOnResource(stack.json, roleId, ids.high), send);
    assert.deepEqual(actionsOnResource(stack.json, roleId, ids.normal), send);
    assert.deepEqual(actionsOnResource(stack.json, roleId, ids.dlqHigh), []);
    assert.deepEqual(actionsOnResource(stack.json, roleId, ids.dlqNormal), []);
  });

  it('worker may consume both task queues (ChangeMessageVisibility included) and cannot send', () => {
    const ids = queueIds();
    const roleId = workerRoleId(stack.json);
    const consume = [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ];
    assert.deepEqual(actionsOnResource(stack.json, roleId, ids.high), consume);
    assert.deepEqual(actionsOnResource(stack.json, roleId, ids.normal), consume);
  });

  it('tells both functions the queue URLs (not the DLQs, which they never touch); the worker the max receive count', () => {
    const ids = queueIds();
    for (const [, fn] of [gatewayFunction(stack.json), workerFunction(stack.json)]) {
      const env = environmentOf(fn);
      assert.deepEqual(env[QUEUE_ENV.HIGH_URL], { Ref: ids.high });
      assert.deepEqual(env[QUEUE_ENV.NORMAL_URL], { Ref: ids.normal });
      assert.equal(env[DLQ_ENV.HIGH_URL], undefined);
      assert.equal(env[DLQ_ENV.NORMAL_URL], undefined);
    }
    assert.equal(environmentOf(workerFunction(stack.json)[1])['BREAKWATER_QUEUE_MAX_RECEIVE_COUNT'], '5');
  });

  it('outputs the queue and dead-letter queue URLs and ARNs for the CLI', () => {
    const ids = queueIds();
    const outputs = stack.json.Outputs ?? {};
    assert.deepEqual(outputs[OUTPUTS.QUEUE_HIGH_URL]?.Value, { Ref: ids.high });
    assert.deepEqual(outputs[OUTPUTS.QUEUE_NORMAL_URL]?.Value, { Ref: ids.normal });
    assert.deepEqual(outputs[OUTPUTS.DLQ_HIGH_URL]?.Value, { Ref: ids.dlqHigh });
    assert.deepEqual(outputs[OUTPUTS.DLQ_NORMAL_URL]?.Value, { Ref: ids.dlqNormal });
    assert.deepEqual(outputs[OUTPUTS.QUEUE_HIGH_ARN]?.Value, { 'Fn::GetAtt': [ids.high, 'Arn'] });
    assert.deepEqual(outputs[OUTPUTS.QUEUE_NORMAL_ARN]?.Value, { 'Fn::GetAtt': [ids.normal, 'Arn'] });
    assert.deepEqual(outputs[OUTPUTS.DLQ_HIGH_ARN]?.Value, { 'Fn::GetAtt': [ids.dlqHigh, 'Arn'] });
    assert.deepEqual(outputs[OUTPUTS.DLQ_NORMAL_ARN]?.Value, { 'Fn::GetAtt': [ids.dlqNormal, 'Arn'] });
    assert.deepEqual(outputs['WorkerFunctionName']?.Value, { Ref: workerFunction(stack.json)[0] });
  });

  it('template assertion: the queue shape in one place', () => {
    const { template } = synth(scratch);
    template.resourcePropertiesCountIs(
      'AWS::SQS::Queue',
      { VisibilityTimeout: 720, SqsManagedSseEnabled: true, RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) },
      2,
    );
  });
});
