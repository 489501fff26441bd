import type { ProviderConfig } from '../config/schema';
import { AnthropicProvider } from './anthropic';
import { OpenAiProvider } from './openai';
import { SimulatedProvider } from './simulated';
import type { ProviderAdapter, ProviderDeps } from './types';

export function createProvider(config: ProviderConfig, deps: ProviderDeps): ProviderAdapter {
  switch (config.type) {
    case 'openai':
      return new OpenAiProvider(config, deps.secrets);
    case 'anthropic':
      return new AnthropicProvider(config, deps.secrets);
    case 'simulated':
      return new SimulatedProvider(config, deps.clock, deps.random);
  }
}
