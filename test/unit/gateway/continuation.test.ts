import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from '../../../shared/config';
import { continuationRoute, prefillRequest } from '../../../shared/gateway/continuation';
import { leaves } from '../../../shared/routing';

const config = compileConfig({
  providers: {
    oa: { type: 'openai', base_url: 'http://127.0.0.1:1/v1', credential: 'x' },
    an: { type: 'anthropic', base_url: 'http://127.0.0.1:2/v1', credential: 'y' },
    br: { type: 'bedrock', region: 'eu-west-1' },
  },
  routes: {
    main: {
      strategy: { mode: 'fallback' },
      targets: [
        { provider: 'an', override_params: { model: 'claude-a' } },
        { provider: 'oa', override_params: { model: 'gpt' } },
        { provider: 'br', override_params: { model: 'amazon.nova-pro' } },
        { provider: 'br', override_params: { model: 'anthropic.claude-sonnet' } },
      ],
    },
  },
  tenants: { t: { route: 'main' } },
});

describe('stream recovery: where a cut answer continues', () => {
  const route = config.routes.get('main')!;
  const [anthropic, openai] = leaves(route);

  it('the prefill-capable targets after the broken one, then those before it; never OpenAI or a non-Claude Bedrock model', () => {
    const continued = continuationRoute(route, openai!, { model: 'm' })!;
    assert.deepEqual(
      continued.children.map((child) => (child.kind === 'target' ? child.model : '')),
      ['anthropic.claude-sonnet', 'claude-a'],
    );
    const fromAnthropic = continuationRoute(route, anthropic!, { model: 'm' })!;
    assert.deepEqual(fromAnthropic.children.map((child) => (child.kind === 'target' ? child.model : '')), ['anthropic.claude-sonnet']);
  });

  it('the partial answer becomes the last, assistant, turn without trailing whitespace (which Anthropic refuses)', () => {
    const { body, trimmedWhitespace } = prefillRequest({ model: 'm', messages: [{ role: 'user', content: 'q' }] }, 'The answer is \n');
    assert.deepEqual(body.messages, [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'The answer is' },
    ]);
    assert.equal(trimmedWhitespace, ' \n');
  });
});
