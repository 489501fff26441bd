import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sseEvents, type SseEvent } from '../../../shared/providers/sseEvents';
import { isUpstreamStreamError } from '../../../shared/stream/UpstreamStreamError';

async function* chunks(...parts: Array<Buffer | string | Error>): AsyncGenerator<Buffer | string> {
  for (const part of parts) {
    if (part instanceof Error) throw part;
    yield part;
  }
}

const read = async (source: AsyncIterable<Buffer | string>, options = {}) => {
  const events: SseEvent[] = [];
  try {
    for await (const event of sseEvents(source, options)) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
};

describe('sseEvents', () => {
  it('parses events split anywhere, a multi-byte character included, with CRLF lines and comments', async () => {
    const bytes = Buffer.from(': keep-alive\r\n\r\nevent: ping\r\ndata: {"a":1}\r\n\r\ndata: héllo\ndata: wörld\n\n');
    const split = bytes.indexOf(Buffer.from('é')) + 1; // inside the two bytes of "é"
    const { events, error } = await read(chunks(bytes.subarray(0, 20), bytes.subarray(20, split), bytes.subarray(split)));
    assert.equal(error, undefined);
    assert.deepEqual(events, [{ event: 'ping', data: '{"a":1}' }, { data: 'héllo\nwörld' }]);
  });

  it('yields the events that came, then throws a socket failure as network_error with its code', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const { events, error } = await read(chunks('data: one\n\n', reset));
    assert.deepEqual(events, [{ data: 'one' }]);
    assert.ok(isUpstreamStreamError(error));
    assert.deepEqual(error.outcome, { kind: 'network_error', code: 'ECONNRESET', message: 'upstream stream cut: read ECONNRESET' });
  });

  it('ends quietly on a failure once the caller aborted', async () => {
    const { events, error } = await read(chunks('data: one\n\n', new Error('aborted')), { aborted: () => true });
    assert.deepEqual(events, [{ data: 'one' }]);
    assert.equal(error, undefined);
  });

  it('refuses an event larger than maxEventChars as malformed', async () => {
    const { error } = await read(chunks(`data: ${'x'.repeat(200)}`), { maxEventChars: 100 });
    assert.ok(isUpstreamStreamError(error));
    assert.equal(error.outcome.kind, 'malformed');
  });
});
