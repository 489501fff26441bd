import type { UnsupportedParameter } from './types';
import { isRecord } from './upstreamHttp';

/**
 * The chat parameters Anthropic's Messages API and Bedrock's Converse API have no field for,
 * decided once for both: each is mapped or refused, never dropped. Pure, no I/O.
 *
 * - `response_format` json_schema / json_object: mapped to a forced tool whose input schema is
 *   the answer's schema; its call comes back as the message content (JSON text).
 * - `n` > 1, `logprobs`, `top_logprobs` > 0, non-zero `presence_penalty` / `frequency_penalty`,
 *   a non-empty `logit_bias`, `audio`, non-text `modalities`, `web_search_options` and the
 *   legacy `functions`: refused. A value equal to OpenAI's default (`n: 1`, `logprobs: false`,
 *   penalties of 0) changes nothing and passes: clients such as LangChain send them always.
 * - `seed`: ignored. OpenAI documents it as best-effort determinism, never a guarantee, and
 *   the README says these targets do not honour it.
 */

/** A parameter the target cannot honour; the adapter turns it into an `unsupported` outcome (400). */
export class UnsupportedParameterError extends Error {
  override name = 'UnsupportedParameterError';
  readonly isUnsupportedParameter = true;

  constructor(
    /** The request field, as the client named it. */
    readonly param: string,
    /** `provider/model`. */
    readonly target: string,
    detail?: string,
  ) {
    super(`${param}${detail ? ` ${detail}` : ''} is not supported by ${target}`);
  }

  toOutcome(): UnsupportedParameter {
    return { kind: 'unsupported', param: this.param, message: this.message };
  }
}

export const isUnsupportedParameterError = (error: unknown): error is UnsupportedParameterError =>
  typeof error === 'object' && error !== null && (error as { isUnsupportedParameter?: unknown }).isUnsupportedParameter === true;

const isSet = (value: unknown) => value !== undefined && value !== null;

/** Each refused parameter and whether the body's value asks for something the target lacks. */
const REFUSED: ReadonlyArray<[param: string, asks: (value: unknown) => boolean]> = [
  ['n', (value) => typeof value === 'number' && value > 1],
  ['logprobs', (value) => value === true],
  ['top_logprobs', (value) => typeof value === 'number' && value > 0],
  ['presence_penalty', (value) => typeof value === 'number' && value !== 0],
  ['frequency_penalty', (value) => typeof value === 'number' && value !== 0],
  ['logit_bias', (value) => isRecord(value) && Object.keys(value).length > 0],
  ['audio', isSet],
  ['modalities', (value) => Array.isArray(value) && value.some((modality) => modality !== 'text')],
  ['web_search_options', isSet],
  ['functions', (value) => Array.isArray(value) && value.length > 0],
];

/** Throws {@link UnsupportedParameterError} for the first parameter in `body` that `provider` cannot honour. */
export function refuseUnsupported(body: Record<string, unknown>, provider: string): void {
  const target = `${provider}/${String(body.model)}`;
  for (const [param, asks] of REFUSED) {
    if (asks(body[param])) throw new UnsupportedParameterError(param, target);
  }
}

/** The answer's shape, from `response_format`: the forced tool's name and input schema. */
export interface ResponseFormatTool {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

/** OpenAI's rule for a json_schema name; both targets accept these names for tools. */
const SCHEMA_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The tool a json_object answer is forced through: any JSON object. */
export const JSON_OBJECT_TOOL = 'json_object';

const DESCRIPTION = 'Give your answer by calling this tool: its input is the answer, in the required JSON format.';

/**
 * `response_format` → the tool that carries the answer; undefined for text (or none).
 * @throws UnsupportedParameterError for a format type the target cannot produce, or a schema
 * whose root is not an object (a tool's input always is one)
 * @throws through `fail` for a malformed response_format (the client's mistake)
 */
export function readResponseFormat(
  body: Record<string, unknown>,
  provider: string,
  fail: (message: string) => never,
): ResponseFormatTool | undefined {
  const format = body.response_format;
  if (format === undefined || format === null) return undefined;
  const target = `${provider}/${String(body.model)}`;
  if (!isRecord(format)) fail('`response_format` must be an object');
  switch (format.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return { name: JSON_OBJECT_TOOL, description: DESCRIPTION, schema: { type: 'object', additionalProperties: true } };
    case 'json_schema': {
      const spec = format.json_schema;
      if (!isRecord(spec) || typeof spec.name !== 'string' || !SCHEMA_NAME.test(spec.name)) {
        fail('`response_format.json_schema.name` must be 1 to 64 letters, digits, underscores or dashes');
      }
      const schema = spec.schema ?? { type: 'object' };
      if (!isRecord(schema)) fail('`response_format.json_schema.schema` must be a JSON schema object');
      if (schema.type !== 'object') throw new UnsupportedParameterError('response_format', target, 'with a schema whose root is not an object');
      const description = typeof spec.description === 'string' && spec.description !== '' ? `${spec.description}\n\n${DESCRIPTION}` : DESCRIPTION;
      return { name: spec.name, description, schema };
    }
    default:
      throw new UnsupportedParameterError('response_format', target, `of type ${JSON.stringify(format.type)}`);
  }
}

/** The tools and choice a request is sent with once its response format is folded in. */
export interface ToolPlan<Tool, Choice> {
  tools: Tool[];
  toolChoice: Choice | undefined;
  /** The tool whose call is the answer's content, when the answer is to be JSON text. */
  responseTool: string | undefined;
}

type Tool = { name: string; description?: string; parameters: Record<string, unknown> };
type Choice = 'auto' | 'required' | 'none' | { name: string };

/**
 * Folds the response format into the tools, as OpenAI would answer:
 * - no tools (or `tool_choice: "none"`): the format's tool is forced, so the answer is JSON;
 * - `auto` tools: the model must call a tool, the format's tool standing for "answer now";
 * - `required` or a named function: the answer is a tool call anyway (OpenAI applies the
 *   format to content only), so the format changes nothing.
 * The request's own tools always stay declared: a conversation that holds tool calls needs them.
 */
export function foldResponseFormat<T extends Tool, C extends Choice>(
  tools: T[],
  toolChoice: C | undefined,
  format: ResponseFormatTool | undefined,
  target: string,
): ToolPlan<T | Tool, C | Choice> {
  if (!format || toolChoice === 'required' || typeof toolChoice === 'object') return { tools, toolChoice, responseTool: undefined };
  if (tools.some((tool) => tool.name === format.name)) {
    throw new UnsupportedParameterError('response_format', target, `named ${JSON.stringify(format.name)} like one of the request's tools`);
  }
  const formatTool: Tool = { name: format.name, description: format.description, parameters: format.schema };
  const forced = tools.length === 0 || toolChoice === 'none';
  return {
    tools: [...tools, formatTool],
    toolChoice: forced ? { name: format.name } : 'required',
    responseTool: format.name,
  };
}

/** A malformed value: the call itself reports it (as the client's 400); the pre-check moves on. */
const notMine = (): never => {
  throw new Error('malformed');
};

/**
 * The parameter checks of a chat translation alone, without reading the conversation: what the
 * engine asks of every target before any call, so that the messages (images and all) are
 * translated once, by the call itself, not twice on every request. The same rules as the
 * translation: the refused table, the response format, and its tool's name against the
 * request's tools (as {@link foldResponseFormat} applies it).
 */
export function unsupportedParameterOf(body: Record<string, unknown>, provider: string): UnsupportedParameter | undefined {
  try {
    refuseUnsupported(body, provider);
    const format = readResponseFormat(body, provider, notMine);
    const tools = (Array.isArray(body.tools) ? body.tools : []).map((tool: unknown) => ({
      name: String((isRecord(tool) && isRecord(tool.function) && tool.function.name) || ''),
      parameters: {},
    }));
    const choice = body.tool_choice;
    const toolChoice = choice === 'required' ? 'required' : isRecord(choice) ? { name: '' } : choice === 'none' ? 'none' : 'auto';
    foldResponseFormat(tools, tools.length > 0 ? toolChoice : undefined, format, `${provider}/${String(body.model)}`);
  } catch (error) {
    if (isUnsupportedParameterError(error)) return error.toOutcome();
  }
  return undefined;
}
