import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GetQueueAttributesCommand, SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { queueUrlResolver, receiveCountOf, redriveDlq } from '../../../shared/queue';

const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/breakwater-tasks-dlq';
const NORMAL_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/breakwater-tasks-normal';
const arnOf = (url: string) => `arn:aws:sqs:eu-west-1:123456789012:${url.slice(url.lastIndexOf('/') + 1)}`;

describe('redriveDlq', () => {
  const sqs = mockClient(SQSClient);
  const client = new SQSClient({ region: 'eu-west-1' });
  beforeEach(() => {
    sqs.reset();
    sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({ Attributes: { QueueArn: arnOf(input.QueueUrl) } }));
  });

  it("starts SQS's message move task from the DLQ to the target on AWS", async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-1' });
    assert.deepEqual(await redriveDlq({ sqs: client, dlqUrl: DLQ_URL, targetUrl: NORMAL_URL }), { mode: 'move_task', taskHandle: 'handle-1' });
    assert.deepEqual(sqs.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input, {
      SourceArn: arnOf(DLQ_URL),
      DestinationArn: arnOf(NORMAL_URL),
    });
  });

  it('lets SQS return each message to its own source queue when no target is given', async () => {
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-2' });
    await redriveDlq({ sqs: client, dlqUrl: DLQ_URL });
    assert.deepEqual(sqs.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input, { SourceArn: arnOf(DLQ_URL), DestinationArn: undefined });
  });

  it('does not fall back to copying when the move task fails for another reason', async () => {
    sqs.on(StartMessageMoveTaskCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await assert.rejects(redriveDlq({ sqs: client, dlqUrl: DLQ_URL, targetUrl: NORMAL_URL }), { name: 'AccessDenied' });
  });
});

describe('SQS record helpers', () => {
  it('resolves an event source ARN to a known queue URL by name, else to the AWS URL', () => {
    const resolve = queueUrlResolver(['http://sqs.us-east-1.localhost:4566/000000000000/breakwater-tasks-high']);
    assert.equal(resolve('arn:aws:sqs:us-east-1:000000000000:breakwater-tasks-high'), 'http://sqs.us-east-1.localhost:4566/000000000000/breakwater-tasks-high');
    assert.equal(resolve(arnOf(NORMAL_URL)), NORMAL_URL);
  });

  it('reads the receive count, counting a missing or odd one as the first', () => {
    const withCount = (value: string | undefined) => ({ attributes: { ApproximateReceiveCount: value } }) as unknown as Parameters<typeof receiveCountOf>[0];
    assert.equal(receiveCountOf(withCount('4')), 4);
    assert.equal(receiveCountOf(withCount(undefined)), 1);
    assert.equal(receiveCountOf(withCount('zero')), 1);
  });
});
