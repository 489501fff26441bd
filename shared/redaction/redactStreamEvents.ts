import type { StreamEvent } from '../stream/StreamEvent';
import type { SecretRedactor } from './SecretRedactor';
import type { StreamScanner } from './StreamScanner';

/** The text-carrying events, told apart by what they carry and their index. */
type Channel = 'text' | `tool_call:${number}` | `thinking:${number}`;

/**
 * The canonical stream with credentials cut out of its text, tool-call arguments and thinking,
 * also when one is split over several events (a model echoing a key token by token): each
 * channel has its own {@link StreamScanner}; what waits goes out, redacted as it is, before any
 * event of another kind or channel and at the end. A piece that waits whole is left out rather
 * than sent empty; tool-call ids and names go out at once.
 */
export async function* redactStreamEvents(events: AsyncIterable<StreamEvent>, redactor: SecretRedactor): AsyncGenerator<StreamEvent> {
  const open = new Map<Channel, { event: StreamEvent; scanner: StreamScanner }>();
  /** What waits in every channel but `keep`, redacted as it is: the stream moved on. */
  const flush = function* (keep?: Channel): Generator<StreamEvent> {
    for (const [channel, { event, scanner }] of open) {
      if (channel === keep) continue;
      open.delete(channel);
      const rest = scanner.end();
      if (rest !== '') yield withText(event, rest, true);
    }
  };

  for await (const event of events) {
    const channel = channelOf(event);
    yield* flush(channel);
    if (!channel) {
      yield event;
      continue;
    }
    const state = open.get(channel) ?? { event, scanner: redactor.scanner() };
    open.set(channel, { event, scanner: state.scanner });
    let text = state.scanner.push(textOf(event));
    // A thinking block's signature ends its text: nothing may follow it, so nothing waits.
    const signed = event.type === 'thinking' && (event.signature !== undefined || event.redacted !== undefined);
    if (signed) {
      text += state.scanner.end();
      open.delete(channel);
    }
    const named = event.type === 'tool_call' && (event.id !== undefined || event.name !== undefined);
    if (text !== '' || named || signed) yield withText(event, text, false);
  }
  yield* flush();
}

function channelOf(event: StreamEvent): Channel | undefined {
  switch (event.type) {
    case 'text':
      return 'text';
    case 'tool_call':
      return `tool_call:${event.index}`;
    case 'thinking':
      return `thinking:${event.index}`;
    default:
      return undefined;
  }
}

function textOf(event: StreamEvent): string {
  if (event.type === 'text') return event.text;
  if (event.type === 'tool_call') return event.arguments;
  if (event.type === 'thinking') return event.thinking;
  return '';
}

/** The event with its text replaced; a flushed remainder carries the text alone (no id, name or signature again). */
function withText(event: StreamEvent, text: string, remainder: boolean): StreamEvent {
  if (event.type === 'text') return { type: 'text', text };
  if (event.type === 'tool_call') {
    return remainder ? { type: 'tool_call', index: event.index, arguments: text } : { ...event, arguments: text };
  }
  if (event.type === 'thinking') return remainder ? { type: 'thinking', index: event.index, thinking: text } : { ...event, thinking: text };
  return event;
}
