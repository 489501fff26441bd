import { existsSync, readFileSync } from 'node:fs';
import { compileConfig } from '../shared/config/index.js';
import { insecureConfigFindings as insecureFindingsOf } from '../shared/config/insecureConfigFindings.js';

/** {@link insecureConfigFindings} of a config as written; throws a ConfigError if it does not compile. */
export function insecureConfigFindings(raw: unknown, source = 'config'): string[] {
  return insecureFindingsOf(raw, compileConfig(raw, source));
}

/**
 * Refuses to synthesize a production stage from a config with {@link insecureConfigFindings},
 * unless the deployer said so (`-c allowInsecureConfig=true`, e.g. a load test on simulated
 * providers). A missing file is left to the bundling step, which reports it.
 */
export function assertConfigFitForProduction(path: string, allowInsecureConfig: boolean): void {
  if (allowInsecureConfig || !existsSync(path)) return;
  const findings = insecureConfigFindings(JSON.parse(readFileSync(path, 'utf8')), path);
  if (findings.length === 0) return;
  throw new Error(
    `Breakwater routing config at ${path} is not fit for a production stage:\n` +
      findings.map((finding) => `  - ${finding}\n`).join('') +
      'Use real providers and create keys with `breakwater keys create --stage <stage>`, ' +
      'or pass -c allowInsecureConfig=true to deploy it anyway.',
  );
}
