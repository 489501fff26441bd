import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { GatewayError } from '../../../shared/errors';
import { openAiErrorResponder } from '../../../shared/middleware';
import { captureByStatus, traceOutcome } from '../../../shared/telemetry';

/** Records what the X-Ray SDK's Subsegment would: flags, exceptions, annotations. */
class FakeSegment {
  fault = false;
  error = false;
  throttle = false;
  closed = false;
  exceptions: unknown[] = [];
  annotations: Record<string, unknown> = {};
  children: FakeSegment[] = [];
  constructor(readonly name: string) {}
  addNewSubsegment(name: string): FakeSegment {
    const child = new FakeSegment(name);
    this.children.push(child);
    return child;
  }
  // As aws-xray-sdk-core's addError: a fault, with the exception attached.
  addError(error: unknown): void {
    this.fault = true;
    this.exceptions.push(error);
  }
  addFaultFlag(): void {
    this.fault = true;
  }
  addErrorFlag(): void {
    this.error = true;
  }
  addThrottleFlag(): void {
    this.throttle = true;
  }
  addAnnotation(key: string, value: unknown): void {
    this.annotations[key] = value;
  }
  close(): void {
    this.closed = true;
  }
}

/** Powertools' Tracer as its middleware uses it, tracing on, over a fake Lambda segment. */
function fakeTracer() {
  const lambda = new FakeSegment('lambda');
  let current: FakeSegment = lambda;
  const tracer = {
    isTracingEnabled: () => true,
    getSegment: () => current,
    setSegment: (segment: FakeSegment) => {
      current = segment;
    },
    annotateColdStart: () => {},
    addServiceNameAnnotation: () => {},
    addResponseAsMetadata: () => {},
    addErrorAsMetadata: (error: Error) => current.addError(error),
  };
  return { tracer: tracer as unknown as Tracer, handlerSegment: () => lambda.children[0]! };
}

const quietLogger = { info() {}, warn() {}, error() {} } as unknown as Logger;
const event = { path: '/v1/chat/completions', requestContext: { requestId: 'req-1' } } as unknown as APIGatewayProxyEvent;
const context = { awsRequestId: 'aws-1' } as Context;

/** The gateway's order: tracing outermost, then the error responder, then the handler. */
async function invoke(outcome: () => unknown) {
  const { tracer, handlerSegment } = fakeTracer();
  const handler = middy()
    .use(captureByStatus(captureLambdaHandler(tracer, { captureResponse: false }), tracer))
    .use(openAiErrorResponder(quietLogger))
    .handler(async () => outcome());
  const response = (await handler(event, context)) as { statusCode: number };
  return { response, segment: handlerSegment() };
}

describe('X-Ray outcome of an answer', () => {
  it('maps statuses to X-Ray flags', () => {
    assert.equal(traceOutcome(200), 'ok');
    assert.equal(traceOutcome(400), 'error');
    assert.equal(traceOutcome(404), 'error');
    assert.equal(traceOutcome(429), 'throttle');
    assert.equal(traceOutcome(500), 'fault');
    assert.equal(traceOutcome(503), 'fault');
    assert.equal(traceOutcome(undefined), 'fault');
  });

  const clientErrors: Array<[string, number]> = [
    ['invalid_request', 400],
    ['invalid_api_key', 401],
    ['rate_limited', 429],
  ];
  for (const [code, status] of clientErrors) {
    it(`records a ${status} (${code}) as a client error: no fault, no exception`, async () => {
      const { response, segment } = await invoke(() => {
        throw new GatewayError(code as 'invalid_request', 'refused');
      });
      assert.equal(response.statusCode, status);
      assert.equal(segment.fault, false);
      assert.deepEqual(segment.exceptions, []);
      assert.equal(segment.error, true);
      assert.equal(segment.throttle, status === 429);
      assert.equal(segment.annotations.status, status);
      assert.equal(segment.closed, true);
    });
  }

  it("records the gateway's own 5xx as a fault with its exception", async () => {
    const failure = new GatewayError('budget_unavailable', 'spend store down');
    const { response, segment } = await invoke(() => {
      throw failure;
    });
    assert.equal(response.statusCode, 503);
    assert.equal(segment.fault, true);
    assert.deepEqual(segment.exceptions, [failure]);
    assert.equal(segment.annotations.status, 503);
    assert.equal(segment.closed, true);
  });

  it('records an unexpected error (answered 500) as a fault with its exception', async () => {
    const bug = new TypeError('undefined is not a function');
    const { response, segment } = await invoke(() => {
      throw bug;
    });
    assert.equal(response.statusCode, 500);
    assert.equal(segment.fault, true);
    assert.deepEqual(segment.exceptions, [bug]);
  });

  it('flags a 4xx returned without throwing as a client error, and a 200 as nothing', async () => {
    const refused = await invoke(() => ({ statusCode: 404, body: '{}' }));
    assert.deepEqual([refused.segment.error, refused.segment.fault, refused.segment.closed], [true, false, true]);
    const ok = await invoke(() => ({ statusCode: 200, body: '{}' }));
    assert.deepEqual([ok.segment.error, ok.segment.fault, ok.segment.closed], [false, false, true]);
  });
});
