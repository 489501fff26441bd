import type { ServiceAuth } from './ServiceAuth';

/** A public API: nothing is injected, and all callers share one breaker and one bucket. */
export const noAuth: ServiceAuth = {
  forCall: () => ({ id: 'none', apply: async () => undefined }),
};
