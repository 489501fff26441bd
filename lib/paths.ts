import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/**
 * Absolute path of the repository root, derived from this file's location
 * (lib/ is one level below the root) so that synth works from any cwd.
 */
export const REPO_ROOT: string = fileURLToPath(new URL('..', import.meta.url));

/** Resolves a repo-relative path (absolute paths are returned unchanged). */
export function fromRepoRoot(...segments: string[]): string {
  return resolve(REPO_ROOT, ...segments);
}

/** Default location of the gateway Lambda entry point. */
export const DEFAULT_GATEWAY_ENTRY: string = fromRepoRoot('functions', 'gateway', 'handler.ts');

/** Default location of the routing config shipped inside the Lambda bundle. */
export const DEFAULT_CONFIG_PATH: string = fromRepoRoot('breakwater.config.json');

/** The lock file NodejsFunction uses to pick the package manager / project root. */
export const LOCK_FILE_PATH: string = fromRepoRoot('package-lock.json');

/** Default location of the SQS worker Lambda entry point. */
export const DEFAULT_WORKER_ENTRY: string = fromRepoRoot('functions', 'worker', 'handler.ts');
