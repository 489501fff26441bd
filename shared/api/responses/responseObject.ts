import { randomBytes } from 'node:crypto';
import type { FinishReason, StreamUsage } from '../../stream';
import type { FunctionTool, ResponsesRequest } from './requestSchema';

/**
 * The `response` object, in the shape the `openai` SDK declares for `Response` (its `output_text`
 * helper reads `output[].content[]`); `output_text` itself is the SDK's, not on the wire.
 */

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}

export interface OutputRefusal {
  type: 'refusal';
  refusal: string;
}

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface OutputMessage {
  type: 'message';
  id: string;
  status: ItemStatus;
  role: 'assistant';
  content: Array<OutputText | OutputRefusal>;
}

export interface OutputFunctionCall {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

export type OutputItem = OutputMessage | OutputFunctionCall;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** What a response says back about the request that made it (the same on every event). */
export interface ResponseEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number;
  text: { format: Record<string, unknown>; verbosity?: string };
  tool_choice: unknown;
  tools: Array<Record<string, unknown>>;
  top_p: number;
  truncation: 'auto' | 'disabled';
  user?: string;
  metadata: Record<string, string>;
}

export interface ResponseObject extends ResponseEcho {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: false;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  model: string;
  output: OutputItem[];
  usage: ResponseUsage | null;
}

/**
 * Ids for one response and its items. An item's id carries its response's (`msg_<hex>_<n>`),
 * so an `item_reference` finds the stored response it came from without an index.
 */
export class ResponseIds {
  readonly response: string;
  private readonly hex: string;
  private next = 0;

  constructor(hex: string = randomBytes(16).toString('hex')) {
    this.hex = hex;
    this.response = `resp_${hex}`;
  }

  message(): string {
    return `msg_${this.hex}_${this.next++}`;
  }

  functionCall(): string {
    return `fc_${this.hex}_${this.next++}`;
  }
}

/** The response an output item id belongs to, or undefined for an id this gateway did not make. */
export function responseIdOfItem(itemId: string): string | undefined {
  const match = /^(?:msg|fc)_([0-9a-f]{32})_\d+$/.exec(itemId);
  return match ? `resp_${match[1]}` : undefined;
}

const flatTool = (tool: FunctionTool): Record<string, unknown> => ({
  type: 'function',
  name: tool.name,
  description: tool.description ?? null,
  parameters: tool.parameters ?? null,
  strict: tool.strict ?? null,
});

/** The request's settings as a response reports them, OpenAI's defaults filled in. */
export function responseEcho(request: ResponsesRequest, store: boolean): ResponseEcho {
  return {
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
    store,
    temperature: request.temperature ?? 1,
    text: { format: request.text?.format ?? { type: 'text' }, ...(request.text?.verbosity ? { verbosity: request.text.verbosity } : {}) },
    tool_choice: request.tool_choice ?? 'auto',
    tools: (request.tools ?? []).map(flatTool),
    top_p: request.top_p ?? 1,
    truncation: request.truncation ?? 'disabled',
    ...(request.user ? { user: request.user } : {}),
    metadata: request.metadata ?? {},
  };
}

export interface ResponseParts {
  id: string;
  createdAt: number;
  model: string;
  status: ResponseStatus;
  output: OutputItem[];
  usage?: StreamUsage;
  finishReason?: FinishReason;
  error?: { code: string; message: string };
}

/** A whole response object, its fields in OpenAI's order. */
export function buildResponse(echo: ResponseEcho, parts: ResponseParts): ResponseObject {
  const { instructions, max_output_tokens, parallel_tool_calls, previous_response_id, reasoning, store } = echo;
  const { temperature, text, tool_choice, tools, top_p, truncation, user, metadata } = echo;
  return {
    id: parts.id,
    object: 'response',
    created_at: parts.createdAt,
    status: parts.status,
    background: false,
    error: parts.error ?? null,
    incomplete_details: parts.status === 'incomplete' ? { reason: incompleteReason(parts.finishReason) } : null,
    instructions,
    max_output_tokens,
    model: parts.model,
    output: parts.output,
    parallel_tool_calls,
    previous_response_id,
    reasoning,
    store,
    temperature,
    text,
    tool_choice,
    tools,
    top_p,
    truncation,
    usage: parts.usage ? toResponseUsage(parts.usage) : null,
    ...(user !== undefined ? { user } : {}),
    metadata,
  };
}

/** `length` and `content_filter` end an answer early: OpenAI calls that `incomplete`. */
export const statusOf = (finish: FinishReason | undefined): ResponseStatus =>
  finish === 'length' || finish === 'content_filter' ? 'incomplete' : 'completed';

const incompleteReason = (finish: FinishReason | undefined) => (finish === 'content_filter' ? 'content_filter' : 'max_output_tokens');

/** The engine's usage (OpenAI chat shape, cached tokens inside the prompt count) as Responses usage. */
export function toResponseUsage(usage: StreamUsage): ResponseUsage {
  const input = usage.prompt_tokens ?? 0;
  const output = usage.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens ?? input + output,
  };
}

export const outputText = (text: string): OutputText => ({ type: 'output_text', text, annotations: [], logprobs: [] });
