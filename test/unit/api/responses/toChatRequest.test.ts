import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseResponsesRequest } from '../../../../shared/api/responses/parseRequest';
import type { InputItem } from '../../../../shared/api/responses/requestSchema';
import { toChatMessages, toChatRequest } from '../../../../shared/api/responses/toChatRequest';
import { GatewayError, isGatewayError } from '../../../../shared/errors';

const chatOf = (body: Record<string, unknown>) => {
  const request = parseResponsesRequest(body);
  const items = typeof request.input === 'string' ? [{ type: 'message', role: 'user', content: request.input } as InputItem] : request.input;
  return toChatRequest(request, items);
};

/** The GatewayError a call throws, for its code, status and param. */
function refusal(call: () => unknown): GatewayError {
  try {
    call();
  } catch (error) {
    if (isGatewayError(error)) return error;
    throw error;
  }
  assert.fail('expected a GatewayError');
}

describe('Responses request → Chat Completions body', () => {
  it('a string input is one user message; instructions come first as the system message', () => {
    assert.deepEqual(chatOf({ model: 'm', input: 'hi', instructions: 'be brief' }), {
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
    });
  });

  it('maps the sampling and output parameters to their chat names', () => {
    const body = chatOf({
      model: 'm',
      input: 'hi',
      max_output_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u-1',
      reasoning: { effort: 'low' },
      text: { verbosity: 'low' },
      stream: true,
      store: false,
      metadata: { a: 'b' },
    });
    assert.deepEqual(body, {
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      max_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u-1',
      reasoning_effort: 'low',
      verbosity: 'low',
    });
  });

  it('flat function tools become nested chat tools; tool_choice and parallel_tool_calls go with them', () => {
    const body = chatOf({
      model: 'm',
      input: 'hi',
      tools: [{ type: 'function', name: 'get_weather', description: 'd', parameters: { type: 'object' }, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
    });
    assert.deepEqual(body.tools, [
      { type: 'function', function: { name: 'get_weather', description: 'd', parameters: { type: 'object' }, strict: true } },
    ]);
    assert.deepEqual(body.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(body.parallel_tool_calls, false);
  });

  it('without tools, tool_choice "auto"/"none" and parallel_tool_calls are not sent (OpenAI refuses them alone)', () => {
    const body = chatOf({ model: 'm', input: 'hi', tool_choice: 'none', parallel_tool_calls: true });
    assert.equal('tool_choice' in body, false);
    assert.equal('parallel_tool_calls' in body, false);
    assert.equal(refusal(() => chatOf({ model: 'm', input: 'hi', tool_choice: 'required' })).details?.param, 'tool_choice');
  });

  it('text.format: json_schema → response_format json_schema; json_object → json_object; text → nothing', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
    assert.deepEqual(chatOf({ model: 'm', input: 'hi', text: { format: { type: 'json_schema', name: 'thing', schema, strict: true } } }).response_format, {
      type: 'json_schema',
      json_schema: { name: 'thing', schema, strict: true },
    });
    assert.deepEqual(chatOf({ model: 'm', input: 'hi', text: { format: { type: 'json_object' } } }).response_format, { type: 'json_object' });
    assert.equal('response_format' in chatOf({ model: 'm', input: 'hi', text: { format: { type: 'text' } } }), false);
  });

  it('items: roles, text and image parts, and assistant history from output items', () => {
    const body = chatOf({
      model: 'm',
      input: [
        { role: 'developer', content: 'rules' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'what is this?' },
            { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'low' },
          ],
        },
        // An output item sent back as is, with the fields clients keep.
        {
          type: 'message',
          id: 'msg_1',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'A cat.', annotations: [] }],
        },
        { role: 'user', content: 'thanks' },
      ],
    });
    assert.deepEqual(body.messages, [
      { role: 'developer', content: 'rules' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
        ],
      },
      { role: 'assistant', content: 'A cat.' },
      { role: 'user', content: 'thanks' },
    ]);
  });

  it('function_call items join the assistant turn before them as tool_calls; outputs become tool messages', () => {
    const items = parseResponsesRequest({
      model: 'm',
      input: [
        { role: 'user', content: 'weather in Paris and Rome?' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}', status: 'completed' },
        { type: 'function_call', call_id: 'call_2', name: 'weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'rain' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { type: 'function_call', call_id: 'call_3', name: 'weather', arguments: '{}' },
      ],
    }).input as InputItem[];
    assert.deepEqual(toChatMessages(items), [
      { role: 'user', content: 'weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'weather', arguments: '{}' } }] },
    ]);
  });
});

describe('Responses request validation', () => {
  it('a built-in tool is refused 400 unsupported_tool, naming it', () => {
    for (const type of ['web_search', 'web_search_preview', 'file_search', 'computer_use_preview', 'code_interpreter', 'image_generation', 'mcp']) {
      const error = refusal(() => parseResponsesRequest({ model: 'm', input: 'hi', tools: [{ type: 'function', name: 'f' }, { type }] }));
      assert.equal(error.code, 'unsupported_tool', type);
      assert.equal(error.status, 400);
      assert.match(error.message, new RegExp(`"${type}"`));
      assert.equal(error.details?.param, 'tools[1].type');
    }
    const choice = refusal(() => parseResponsesRequest({ model: 'm', input: 'hi', tool_choice: { type: 'web_search_preview' } }));
    assert.equal(choice.code, 'unsupported_tool');
  });

  it('an unknown parameter is a 400 naming it', () => {
    const error = refusal(() => parseResponsesRequest({ model: 'm', input: 'hi', temprature: 1 }));
    assert.equal(error.code, 'invalid_request');
    assert.equal(error.details?.param, 'temprature');
    assert.match(error.message, /unknown parameter `temprature`/);
  });

  it('an invalid value is a 400 naming its path', () => {
    assert.equal(refusal(() => parseResponsesRequest({ model: 'm', input: 'hi', temperature: 3 })).details?.param, 'temperature');
    assert.equal(refusal(() => parseResponsesRequest({ model: 'm', input: [{ type: 'computer_call_output' }] })).details?.param, 'input[0].type');
    assert.equal(
      refusal(() => parseResponsesRequest({ model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f' }] })).details?.param,
      'input[0].arguments',
    );
    assert.equal(refusal(() => parseResponsesRequest({ input: 'hi' })).details?.param, 'model');
  });

  it('an image by uploaded file id is refused (there is no file store); a URL is not', () => {
    const error = refusal(() =>
      parseResponsesRequest({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-abc', detail: 'auto' }] }] }),
    );
    assert.equal(error.status, 400);
    assert.equal(error.details?.param, 'input[0].content[0]');
    assert.match(error.message, /file_id/);
    assert.doesNotThrow(() =>
      parseResponsesRequest({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,AAAA' }] }] }),
    );
  });

  it('known parameters that cannot be honoured are refused rather than dropped', () => {
    for (const [body, param] of [
      [{ conversation: 'conv_1' }, 'conversation'],
      [{ background: true }, 'background'],
      [{ top_logprobs: 2 }, 'top_logprobs'],
      [{ include: ['message.output_text.logprobs'] }, 'include'],
      [{ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, 'input[0].content[0]'],
      [{ input: [{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_image', image_url: 'https://x' }] }] }, 'input[0].output[0]'],
    ] as const) {
      const error = refusal(() => parseResponsesRequest({ model: 'm', input: 'hi', ...body }));
      assert.equal(error.code, 'unsupported_parameter', param);
      assert.equal(error.details?.param, param);
    }
    // Hints with no effect on the answer pass.
    assert.doesNotThrow(() =>
      parseResponsesRequest({ model: 'm', input: 'hi', include: ['reasoning.encrypted_content'], truncation: 'auto', service_tier: 'auto', background: false }),
    );
  });
});
