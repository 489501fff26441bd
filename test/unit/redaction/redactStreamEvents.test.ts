import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, redactStreamEvents, SecretRedactor } from '../../../shared/redaction';
import type { StreamEvent } from '../../../shared/stream';

const SECRET = 'sk-test-canary-UPSTREAM-7f3a9';

async function* from(events: StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}
async function collect(events: StreamEvent[], redactor: SecretRedactor): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of redactStreamEvents(from(events), redactor)) out.push(event);
  return out;
}
const text = (events: StreamEvent[]) => events.map((event) => (event.type === 'text' ? event.text : '')).join('');
const redactor = new SecretRedactor();
redactor.register(SECRET);

describe('redactStreamEvents', () => {
  it('guarantee: a secret a model streams token by token never goes out, wherever it is cut', async () => {
    const answer = `Your key is ${SECRET}, keep it safe.`;
    for (const size of [1, 2, 3, 5, 8]) {
      const pieces: StreamEvent[] = [];
      for (let i = 0; i < answer.length; i += size) pieces.push({ type: 'text', text: answer.slice(i, i + size) });
      const out = await collect([...pieces, { type: 'finish', reason: 'stop' }], redactor);
      // Pieces of 1 to 3 characters send the secret's first ones ("sk-"), never more: see MIN_HELD_CHARS.
      assert.match(text(out), /^Your key is (?:s|sk|sk-)?\[redacted\], keep it safe\.$/, `pieces of ${size}`);
      assert.ok(!text(out).includes(SECRET.slice(3)));
      assert.deepEqual(out.at(-1), { type: 'finish', reason: 'stop' });
      assert.ok(out.every((event) => event.type !== 'text' || event.text !== ''), 'no empty text events');
    }
  });

  it('lets ordinary text through event by event, without holding anything back', async () => {
    const events: StreamEvent[] = [
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' world' },
    ];
    assert.deepEqual(await collect(events, redactor), events);
  });

  it('redacts tool-call arguments per call, keeping each call’s id and name in its first event', async () => {
    const out = await collect(
      [
        { type: 'tool_call', index: 0, id: 'call_1', name: 'login', arguments: '{"key":"sk-test-can' },
        { type: 'tool_call', index: 0, arguments: 'ary-UPSTREAM-7f3a9"}' },
        { type: 'finish', reason: 'tool_calls' },
      ],
      redactor,
    );
    assert.deepEqual(out, [
      { type: 'tool_call', index: 0, id: 'call_1', name: 'login', arguments: '{"key":"' },
      { type: 'tool_call', index: 0, arguments: `${REDACTED}"}` },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('sends what waits before an event of another kind, and at the end', async () => {
    const out = await collect(
      [
        { type: 'text', text: 'almost sk-test' },
        { type: 'usage', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } },
        { type: 'text', text: 'tail sk-te' },
      ],
      redactor,
    );
    assert.deepEqual(
      out.map((event) => event.type === 'text' ? event.text : event.type),
      ['almost ', 'sk-test', 'usage', 'tail ', 'sk-te'],
    );
  });

  it('ends a thinking block’s text before its signature', async () => {
    const out = await collect(
      [
        { type: 'thinking', index: 0, thinking: 'the key sk-test-can' },
        { type: 'thinking', index: 0, thinking: 'ary-UPSTREAM-7f3a9', signature: 'sig' },
      ],
      redactor,
    );
    assert.deepEqual(out, [
      { type: 'thinking', index: 0, thinking: 'the key ' },
      { type: 'thinking', index: 0, thinking: REDACTED, signature: 'sig' },
    ]);
  });
});
