import { createHash } from 'node:crypto';
import { sampleFromSchema } from './sampleFromSchema';
import { isRecord } from './upstreamHttp';

/**
 * What the `simulated` provider answers, decided from the request alone (the same request gets
 * the same answer), like a model would, so tool calling and structured output can be tried with
 * `npm start`. Pure, no I/O:
 * - `tools` and a last message from the user (and `tool_choice` not `none`): a call of the tool
 *   `tool_choice` names, else of the tool whose name and description share the most words with
 *   that message; its arguments generated from the tool's JSON schema (required properties,
 *   types, enums, formats), so they validate against it;
 * - otherwise a text answer, which after `tool` messages quotes what the tools returned;
 * - `response_format` json_schema: that text is instead JSON generated from the schema;
 *   json_object: `{"reply": "..."}`.
 */

export interface SimulatedToolCall {
  id: string;
  name: string;
  /** The JSON arguments string, as OpenAI sends it. */
  arguments: string;
}

export type SimulatedAnswer =
  | { kind: 'text'; content: string }
  | { kind: 'tool_calls'; toolCalls: SimulatedToolCall[] }
  /** A tool_choice naming a function the request does not declare: OpenAI answers 400. */
  | { kind: 'invalid'; message: string };

interface Message {
  role?: unknown;
  content?: unknown;
  name?: unknown;
  tool_call_id?: unknown;
}

interface Tool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export function simulatedAnswer(body: Record<string, unknown>): SimulatedAnswer {
  const messages = (Array.isArray(body.messages) ? body.messages : []).filter(isRecord) as Message[];
  const last = messages.at(-1);
  const prompt = lastUserText(messages);
  const seed = seedOf(body);
  const tools = readTools(body.tools);
  const choice = body.tool_choice;

  if (tools.length > 0 && choice !== 'none' && last?.role === 'user') {
    const named = isRecord(choice) && isRecord(choice.function) ? choice.function.name : undefined;
    const tool = named === undefined ? bestMatch(tools, prompt) : tools.find((t) => t.name === named);
    if (!tool) return { kind: 'invalid', message: `tool_choice names the function ${JSON.stringify(named)}, which is not in tools` };
    const args = sampleFromSchema(tool.parameters, { seed, text: prompt });
    return { kind: 'tool_calls', toolCalls: [{ id: `call_sim_${seed.toString(16).padStart(8, '0')}`, name: tool.name, arguments: JSON.stringify(args) }] };
  }

  const reply = last?.role === 'tool' ? toolReply(messages) : `Simulated reply to: ${prompt.slice(0, 80)}`;
  const format = isRecord(body.response_format) ? body.response_format : undefined;
  if (format?.type === 'json_schema') {
    const spec = isRecord(format.json_schema) ? format.json_schema : {};
    return { kind: 'text', content: JSON.stringify(sampleFromSchema(spec.schema ?? { type: 'object' }, { seed, text: prompt })) };
  }
  if (format?.type === 'json_object') return { kind: 'text', content: JSON.stringify({ reply }) };
  return { kind: 'text', content: reply };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join(' ');
}

function lastUserText(messages: Message[]): string {
  return textOf([...messages].reverse().find((m) => m.role === 'user')?.content);
}

/** The tool results since the last assistant turn, quoted: what a model would sum up. */
function toolReply(messages: Message[]): string {
  const results: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === 'tool'; i--) results.unshift(textOf(messages[i]!.content));
  const quoted = results.map((result) => result.replace(/\s+/g, ' ').slice(0, 120)).join('; ');
  return `Simulated answer from the tool results: ${quoted}`;
}

function readTools(tools: unknown): Tool[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((tool): Tool[] => {
    if (!isRecord(tool) || !isRecord(tool.function) || typeof tool.function.name !== 'string') return [];
    const fn = tool.function;
    return [
      {
        name: fn.name as string,
        description: typeof fn.description === 'string' ? fn.description : '',
        parameters: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
      },
    ];
  });
}

const words = (text: string) => new Set(text.toLowerCase().split(/[^a-z0-9]+/).filter((word) => word.length > 2));

/** The tool whose name and description share the most words with the prompt; the first on a tie. */
function bestMatch(tools: Tool[], prompt: string): Tool {
  const asked = words(prompt);
  let best = tools[0]!;
  let bestScore = -1;
  for (const tool of tools) {
    const offered = words(`${tool.name.replace(/[_-]/g, ' ')} ${tool.description}`);
    const score = [...offered].filter((word) => asked.has(word)).length;
    if (score > bestScore) {
      best = tool;
      bestScore = score;
    }
  }
  return best;
}

/** A number from the conversation and its tools, so the same request samples the same values. */
function seedOf(body: Record<string, unknown>): number {
  const digest = createHash('sha256')
    .update(JSON.stringify([body.messages ?? null, body.tools ?? null, body.response_format ?? null]))
    .digest();
  return digest.readUInt32BE(0);
}
