import type { ProviderConfig } from '../config/schema';
import { AnthropicProvider } from './anthropic';
import { BedrockProvider } from './bedrock';
import { OpenAiProvider } from './openai';
import { SimulatedProvider } from './simulated';
import type { ProviderAdapter, ProviderDeps } from './types';

export function createProvider(config: ProviderConfig, deps: ProviderDeps): ProviderAdapter {
  switch (config.type) {
    case 'openai':
      return new OpenAiProvider(config, deps.secrets, { onAuthFailure: deps.onAuthFailure, clock: deps.clock });
    case 'anthropic':
      return new AnthropicProvider(config, deps.secrets, undefined, { onAuthFailure: deps.onAuthFailure, clock: deps.clock });
    case 'bedrock':
      return new BedrockProvider(config);
    case 'simulated':
      return new SimulatedProvider(config, deps.clock, deps.random);
  }
}
