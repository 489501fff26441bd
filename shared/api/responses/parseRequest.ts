import type { z } from 'zod';
import { formatPath } from '../../config/ConfigError';
import { GatewayError } from '../../errors';
import { exceedsJsonDepth } from '../../gateway/jsonDepth';
import { MAX_JSON_DEPTH } from '../../gateway/validateBody';
import { responsesRequestSchema, type ResponsesRequest } from './requestSchema';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A Responses request body, validated: built-in tools refused by name (400 `unsupported_tool`),
 * then the schema (400 `invalid_request` naming the first bad parameter), then the parameters
 * that are known but cannot be honoured (400 `unsupported_parameter`).
 */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  if (!isRecord(body)) throw new GatewayError('invalid_request', 'the request body must be a JSON object');
  if (exceedsJsonDepth(body, MAX_JSON_DEPTH)) {
    throw new GatewayError('invalid_request', `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  refuseBuiltInTools(body);
  const parsed = responsesRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = deepestIssue(parsed.error.issues[0]!);
    if (issue.code === 'unrecognized_keys') {
      const param = [formatPath(issue.path), issue.keys[0]!].filter(Boolean).join('.');
      throw new GatewayError('invalid_request', `unknown parameter \`${param}\``, { details: { param } });
    }
    const param = formatPath(issue.path);
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    throw new GatewayError('invalid_request', `${param || 'body'}: ${issue.message}${more}`, { details: { param: param || null } });
  }
  refuseUnsupported(parsed.data);
  return parsed.data;
}

/**
 * `input` is a string or a list: when it is neither, zod reports the union as a whole. The
 * branch that got furthest (the list, for a list) has the issue that names the bad field.
 */
function deepestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const candidates = issue.errors.flatMap((branch) => branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
  const deepest = candidates.reduce<z.core.$ZodIssue | undefined>(
    (best, next) => (!best || next.path.length > best.path.length ? next : best),
    undefined,
  );
  // No branch got past the value itself: the union's own message says what was expected.
  return deepest && deepest.path.length > issue.path.length ? deepestIssue(deepest) : issue;
}

/**
 * OpenAI runs web search, file search, computer use, code interpreter, image generation, MCP,
 * shell and custom tools itself; a gateway in front of other providers cannot, and ignoring one
 * would change the answer silently. Only `function` tools pass.
 */
function refuseBuiltInTools(body: Record<string, unknown>): void {
  if (Array.isArray(body.tools)) {
    body.tools.forEach((tool, index) => {
      const type = isRecord(tool) ? tool.type : undefined;
      if (typeof type === 'string' && type !== 'function') {
        throw new GatewayError(
          'unsupported_tool',
          `tools[${index}]: the built-in tool "${type}" is not supported through this gateway; only tools of type "function" are`,
          { details: { param: `tools[${index}].type`, tool: type } },
        );
      }
    });
  }
  const choice = body.tool_choice;
  if (isRecord(choice) && typeof choice.type === 'string' && choice.type !== 'function') {
    const { type } = choice;
    if (type === 'allowed_tools') {
      throw new GatewayError('unsupported_parameter', '`tool_choice` of type "allowed_tools" is not supported; narrow `tools` instead', {
        details: { param: 'tool_choice' },
      });
    }
    throw new GatewayError('unsupported_tool', `tool_choice: the built-in tool "${type}" is not supported through this gateway`, {
      details: { param: 'tool_choice.type', tool: type },
    });
  }
}

function refuseUnsupported(request: ResponsesRequest): void {
  const refuse = (param: string, why: string) => {
    throw new GatewayError('unsupported_parameter', `\`${param}\` ${why}`, { details: { param } });
  };
  if (request.conversation !== undefined && request.conversation !== null) {
    refuse('conversation', 'is not supported; continue a conversation with `previous_response_id`, or send the whole input');
  }
  if (request.prompt !== undefined && request.prompt !== null) {
    refuse('prompt', '(stored prompt templates) is not supported; send `instructions` and `input`');
  }
  if (request.background === true) refuse('background', 'is not supported; for asynchronous work use POST /v1/tasks');
  if (request.top_logprobs) refuse('top_logprobs', 'is not supported on the Responses API here');
  if (request.include?.includes('message.output_text.logprobs')) {
    refuse('include', 'cannot include "message.output_text.logprobs": logprobs are not supported here');
  }
  for (const [index, item] of (Array.isArray(request.input) ? request.input : []).entries()) {
    if (item.type === 'function_call_output' && typeof item.output !== 'string') {
      const partIndex = item.output.findIndex((part) => part.type !== 'input_text');
      if (partIndex >= 0) refuse(`input[${index}].output[${partIndex}]`, 'is not text: a function call output can carry text only here');
    }
    if (item.type !== 'message' || typeof item.content === 'string') continue;
    for (const [partIndex, part] of item.content.entries()) {
      const at = `input[${index}].content[${partIndex}]`;
      if (part.type === 'input_file') refuse(at, 'is a file input, which is not supported; send the text, or an image as input_image');
      if (part.type === 'input_audio') refuse(at, 'is an audio input, which is not supported');
      if (part.type === 'input_image' && !part.image_url) {
        refuse(
          at,
          part.file_id
            ? 'refers to an uploaded file (`file_id`), which is not supported; send `image_url` (a URL or a data URL)'
            : 'needs an `image_url`',
        );
      }
      if (part.type === 'input_image' && item.role !== 'user') refuse(at, `is an image in a ${item.role} message; images go in user messages`);
    }
  }
}
