export interface ConfigIssue {
  /** Dotted path to the bad field: `routes.default.targets[1].provider`. */
  path: string;
  message: string;
}

/** The config file is wrong; thrown at start-up, so the gateway never serves with a bad config. */
export class ConfigError extends Error {
  readonly isConfigError = true;
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source = 'config',
  ) {
    super(`invalid ${source}:\n${issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `['routes','default','targets',1,'provider']` → `routes.default.targets[1].provider`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, segment) => {
    if (typeof segment === 'number') return `${out}[${segment}]`;
    return out ? `${out}.${String(segment)}` : String(segment);
  }, '');
}

/** By flag rather than `instanceof`, which a second copy of the module in a bundle would defeat. */
export const isConfigError = (error: unknown): error is ConfigError =>
  typeof error === 'object' && error !== null && (error as { isConfigError?: unknown }).isConfigError === true;
