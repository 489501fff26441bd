import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCountTokensRequest, parseMessagesRequest, toChatRequest } from '../../../../shared/api/messages/toChatRequest';
import { isGatewayError, type GatewayError } from '../../../../shared/errors';
import { chatCompletionRequestSchema } from '../../../../shared/gateway/requestSchemas';

const translate = (body: Record<string, unknown>, beta?: string) => toChatRequest(parseMessagesRequest(body), beta);
const base = { model: 'claude-x', max_tokens: 64 };
const user = (content: unknown) => ({ ...base, messages: [{ role: 'user', content }] });

function refusal(body: unknown): GatewayError {
  try {
    parseMessagesRequest(body);
  } catch (error) {
    if (isGatewayError(error)) return error;
    throw error;
  }
  assert.fail('expected a refusal');
}

describe('Messages request → chat body', () => {
  it('a minimal request: model, max_tokens, the user turn, and the native body without model/stream/metadata', () => {
    // Act
    const chat = translate({ ...user('hi'), stream: true, metadata: { user_id: 'u-1' }, top_k: 4 }, 'beta-a,beta-b');

    // Assess
    assert.deepEqual(chat, {
      model: 'claude-x',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 64,
      stream: true,
      user: 'u-1',
      x_breakwater_anthropic: { body: { max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], top_k: 4 }, beta: 'beta-a,beta-b' },
    });
    assert.ok(chatCompletionRequestSchema.safeParse(chat).success, 'the engine accepts it');
  });

  it('system text blocks become one system message; cache_control stays in the native body only', () => {
    const chat = translate({
      ...user([{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }]),
      system: [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two', cache_control: { type: 'ephemeral' } },
      ],
    });
    assert.deepEqual(chat.messages, [
      { role: 'system', content: 'one\n\ntwo' },
      { role: 'user', content: [{ type: 'text', text: 'doc' }] },
    ]);
    assert.doesNotMatch(JSON.stringify(chat.messages), /cache_control/);
    assert.match(JSON.stringify(chat.x_breakwater_anthropic), /cache_control/);
  });

  it('images: base64 as a data: URL, url as is', () => {
    const chat = translate(
      user([
        { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
      ]),
    );
    assert.deepEqual((chat.messages as Array<{ content: unknown }>)[0]!.content, [
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
    ]);
  });

  it('documents: a base64 PDF as a file part, a text document as text with its title', () => {
    const chat = translate(
      user([
        { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' }, title: 'report.pdf' },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' }, title: 'Notes' },
      ]),
    );
    assert.deepEqual((chat.messages as Array<{ content: unknown }>)[0]!.content, [
      { type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBE' } },
      { type: 'text', text: 'Notes\n\nplain words' },
    ]);
  });

  it('a document it cannot fetch (a URL source) is refused, naming the field', () => {
    const error = refusal(user([{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }]));
    assert.equal(error.code, 'invalid_request');
    assert.match(error.message, /^messages\[0\]\.content\[0\]\.source/);
  });

  it('assistant turns: texts joined, tool_use as tool_calls, thinking left to the native body', () => {
    const chat = translate({
      ...base,
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'sig' },
            { type: 'text', text: 'Calling ' },
            { type: 'text', text: 'the tool.' },
            { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } },
          ],
        },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'xyz' }] },
      ],
    });
    assert.deepEqual((chat.messages as unknown[]).slice(1), [
      {
        role: 'assistant',
        content: 'Calling the tool.',
        tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      },
    ]);
  });

  it('tool results: tool messages first (an error says so), then the rest of the turn with the results\' images and documents first', () => {
    const chat = translate({
      ...base,
      messages: [
        { role: 'user', content: 'look' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 't1', name: 'shot', input: {} },
            { type: 'tool_use', id: 't2', name: 'read', input: {} },
            { type: 'tool_use', id: 't3', name: 'read', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What do you see?' },
            {
              type: 'tool_result',
              tool_use_id: 't1',
              content: [
                { type: 'text', text: 'a screenshot' },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'PNG' } },
              ],
            },
            { type: 'tool_result', tool_use_id: 't2', content: 'ENOENT', is_error: true },
            { type: 'tool_result', tool_use_id: 't3', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } }] },
          ],
        },
      ],
    });
    assert.deepEqual((chat.messages as unknown[]).slice(2), [
      { role: 'tool', tool_call_id: 't1', content: 'a screenshot' },
      { role: 'tool', tool_call_id: 't2', content: 'Error: ENOENT' },
      { role: 'tool', tool_call_id: 't3', content: '' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,PNG' } },
          { type: 'file', file: { filename: 'document.pdf', file_data: 'data:application/pdf;base64,JVBE' } },
          { type: 'text', text: 'What do you see?' },
        ],
      },
    ]);
    assert.ok(chatCompletionRequestSchema.safeParse(chat).success);
  });

  it('tools and every tool_choice', () => {
    const tool = { name: 'f', description: 'does f', input_schema: { type: 'object', properties: {} } };
    const withChoice = (tool_choice: unknown) => translate({ ...user('x'), tools: [tool], tool_choice });
    assert.deepEqual(withChoice(undefined).tools, [
      { type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object', properties: {} } } },
    ]);
    assert.equal(withChoice({ type: 'auto' }).tool_choice, 'auto');
    assert.equal(withChoice({ type: 'any' }).tool_choice, 'required');
    assert.equal(withChoice({ type: 'none' }).tool_choice, 'none');
    assert.deepEqual(withChoice({ type: 'tool', name: 'f' }).tool_choice, { type: 'function', function: { name: 'f' } });
    const serial = withChoice({ type: 'auto', disable_parallel_tool_use: true });
    assert.equal(serial.parallel_tool_calls, false);
    assert.equal(withChoice({ type: 'auto' }).parallel_tool_calls, undefined);
    // Without tools a choice means nothing (OpenAI refuses one alone).
    assert.equal(translate({ ...user('x'), tool_choice: { type: 'any' } }).tool_choice, undefined);
  });

  it('stop_sequences, temperature and top_p map; empty stop sequences are left out', () => {
    const chat = translate({ ...user('x'), stop_sequences: ['END', ''], temperature: 0.2, top_p: 0.9 });
    assert.deepEqual([chat.stop, chat.temperature, chat.top_p], [['END'], 0.2, 0.9]);
  });

  it('structured output: output_config.format becomes response_format json_schema; effort stays native', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const chat = translate({ ...user('x'), output_config: { format: { type: 'json_schema', schema }, effort: 'low' } });
    assert.deepEqual(chat.response_format, { type: 'json_schema', json_schema: { name: 'output', schema } });
    assert.equal(JSON.stringify(chat).match(/effort/g)?.length, 1, 'only in the native body');
  });

  it('server tools and the MCP connector are refused as unsupported_tool, naming them', () => {
    for (const type of ['web_search_20250305', 'bash_20250124', 'text_editor_20250728', 'computer_20250124']) {
      const error = refusal({ ...user('x'), tools: [{ name: 'f', input_schema: {} }, { type, name: 'server' }] });
      assert.equal(error.code, 'unsupported_tool');
      assert.equal(error.status, 400);
      assert.match(error.message, new RegExp(`^tools\\[1\\]: "${type}"`));
      assert.deepEqual(error.details, { param: 'tools[1]', tool: type });
    }
    assert.equal(refusal({ ...user('x'), mcp_servers: [{ type: 'url', url: 'https://mcp.example.com' }] }).code, 'unsupported_tool');
    // A custom tool may say so.
    assert.doesNotThrow(() => parseMessagesRequest({ ...user('x'), tools: [{ type: 'custom', name: 'f', input_schema: {} }] }));
  });

  it('refusals name the field: max_tokens missing, an unknown block type, a misplaced block, too many stop sequences', () => {
    assert.match(refusal({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).message, /^max_tokens:/);
    assert.match(
      refusal(user([{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }])).message,
      /^messages\[0\]\.content\[0\]\.type: content blocks of type "server_tool_use" are not supported/,
    );
    const misplaced = (() => {
      try {
        translate(user([{ type: 'tool_use', id: 'a', name: 'b', input: {} }]));
      } catch (error) {
        return error as GatewayError;
      }
      return undefined;
    })();
    assert.match(misplaced?.message ?? '', /^messages\[0\]\.content\[0\]: a tool_use block cannot be in a user message/);
    assert.match(refusal({ ...user('x'), stop_sequences: ['a', 'b', 'c', 'd', 'e'] }).message, /^stop_sequences: at most 4/);
  });

  it('count_tokens: the same prompt without max_tokens', () => {
    const prompt = parseCountTokensRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], system: 's' });
    assert.equal(prompt.system, 's');
  });
});
