import type { ProviderConfig } from '../config/schema';
import { AnthropicProvider } from './anthropic';
import { withoutAnthropicNative } from './anthropicNative';
import { BedrockProvider } from './bedrock';
import { OpenAiProvider } from './openai';
import { SimulatedProvider } from './simulated';
import type { ProviderAdapter, ProviderDeps } from './types';

/**
 * The adapter for a provider. Only Anthropic's reads the Messages door's native request
 * (`x_breakwater_anthropic`). OpenAI's sends the body as it is, so it gets it without that
 * field; Bedrock's and the simulator read only the chat fields they know.
 */
export function createProvider(config: ProviderConfig, deps: ProviderDeps): ProviderAdapter {
  switch (config.type) {
    case 'openai':
      return withoutAnthropicNative(new OpenAiProvider(config, deps.secrets, { onAuthFailure: deps.onAuthFailure, clock: deps.clock }));
    case 'anthropic':
      return new AnthropicProvider(config, deps.secrets, undefined, { onAuthFailure: deps.onAuthFailure, clock: deps.clock });
    case 'bedrock':
      return new BedrockProvider(config);
    case 'simulated':
      return new SimulatedProvider(config, deps.clock, deps.random);
  }
}
