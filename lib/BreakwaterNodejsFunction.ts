import { existsSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { Stack, type Duration } from 'aws-cdk-lib';
import { Alias, Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { parsedConfigPath } from '../shared/config/parsedConfig.js';
import { DEFAULT_CONFIG_PATH, fromRepoRoot, LOCK_FILE_PATH, REPO_ROOT } from './paths.js';

/** Where the routing config lands inside the deployment package (/var/task). */
export const BUNDLED_CONFIG_FILE = 'breakwater.config.json';
/** Lambda extracts the deployment package to /var/task. */
export const LAMBDA_TASK_ROOT = '/var/task';

/**
 * ESM bundles have no `require`; some CommonJS dependencies (X-Ray SDK, etc.)
 * call it at runtime, so recreate it from import.meta.url.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * Node.js 24: the current Lambda LTS runtime (cdk-nag's AwsSolutions-L1 asks for the latest).
 * The bundles target node22 syntax, which 24 runs unchanged.
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;
/**
 * 512 MB, from `npm run bench:memory`: the cheapest size whose peak RSS (123-137 MB over 2,000
 * requests on Node 24, the heap sized for a small sandbox; live heap ~17 MB) has 2x headroom
 * and whose CPU per request (about 7 ms for a 100-chunk stream at one vCPU: 23 ms at 512 MB's
 * 29% share) stays under 2% of a 3 s model wait. A function waits on the model far longer than it computes, so 1024 MB would double
 * the bill for a few ms per request; see the README's cost table.
 */
export const DEFAULT_MEMORY_MB = 512;
/** The alias every caller (API Gateway, SQS) invokes; CodeDeploy shifts it between versions. */
export const LIVE_ALIAS = 'live';

/**
 * The options the gateway and the worker functions both take. Each function's props extend
 * this and document their own `entry` and `timeout` defaults.
 */
export interface BreakwaterFunctionOptions {
  /** Handler entry file. Relative paths resolve against the repo root. */
  readonly entry?: string;
  /**
   * Routing config copied into the bundle as /var/task/breakwater.config.json, with its
   * validated form beside it (breakwater.config.parsed.json: see {@link parsedConfigCommand}).
   * Relative paths resolve against the repo root, not the cwd.
   * Default: <repo>/breakwater.config.json
   */
  readonly configPath?: string;
  /** @default {@link DEFAULT_MEMORY_MB} */
  readonly memorySize?: number;
  /**
   * Executions reserved for this function: it can neither starve the other functions of the
   * account's concurrency nor be starved by them; it is also its ceiling.
   * @default undefined — no reservation (the account's unreserved pool)
   */
  readonly reservedConcurrency?: number;
  /**
   * CloudWatch namespace of the function's own metrics (POWERTOOLS_METRICS_NAMESPACE).
   * @default 'Breakwater'
   */
  readonly metricsNamespace?: string;
  readonly timeout?: Duration;
  /** Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Default: INFO */
  readonly logLevel?: LogLevel;
  /** Extra environment variables (merged over the defaults). */
  readonly environment?: Record<string, string>;
  /**
   * Bundle the AWS SDK v3 (tree-shaken, minified ESM) instead of using the copy in the
   * Lambda runtime. Measured with `npm run bench:cold` (CPU time of the gateway's cold import,
   * median of 10): 346 ms with the runtime's SDK, 239 ms bundled: the runtime's copy is
   * hundreds of CommonJS files node must resolve and compile one by one. It also pins the
   * SDK the tests ran with. The price: a bundle ~450 KB larger, and SDK fixes need a deploy.
   * @default true
   */
  readonly bundleAwsSdk?: boolean;
  /**
   * Source-mapped stack traces (`NODE_OPTIONS=--enable-source-maps`): a logged error names the
   * TypeScript file and line rather than the bundle's. Off by default: with it, Node reads and
   * indexes the source map of every chunk it loads, at import, ~20 ms of CPU on the gateway's
   * ~125 ms cold import (Node 20, `BENCH_COLD_NODE_OPTIONS=--enable-source-maps npm run
   * bench:cold`). The maps ship either way (`*.mjs.map` next to each chunk), so a stack trace
   * can still be mapped after the fact.
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
}

/** What each Breakwater function fixes for itself. */
export interface BreakwaterFunctionSpec {
  /** Entry used when the props name none (relative to the repo root). */
  readonly defaultEntry: string;
  readonly defaultTimeout: Duration;
  readonly description: string;
  /** `POWERTOOLS_SERVICE_NAME`, e.g. 'breakwater-gateway'. */
  readonly serviceName: string;
  /** When set, synthesis with bundling fails with this message if the entry file is missing. */
  readonly missingEntryMessage?: (entry: string) => string;
  /** More shell commands after esbuild, run with the project (`inputDir`) and the bundle (`outputDir`). */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
}

/**
 * Fails synthesis early, with a message that says what to do, when a file the bundle needs is
 * missing. Only when esbuild actually runs: tests that skip bundling synthesize without it.
 */
export function requireWhenBundling(scope: Construct, path: string, message: string): void {
  if (Stack.of(scope).bundlingRequired && !existsSync(path)) throw new Error(message);
}

/**
 * The esbuild settings every Breakwater function shares: an ESM bundle (node22 syntax), minified,
 * with source maps, the AWS SDK bundled in (or left to the runtime), and the routing config
 * copied next to it. With `splitEntry`, the bundle is rebuilt from that entry with code
 * splitting (see {@link codeSplittingCommand}).
 */
export function breakwaterBundling(
  configPath: string,
  bundleAwsSdk = true,
  afterBundling: (inputDir: string, outputDir: string) => string[] = () => [],
  splitEntry?: string,
): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    target: 'node22',
    minify: true,
    sourceMap: true,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: false,
    // Bundled by default (faster cold import, see `bundleAwsSdk`). Left to the runtime, only
    // @aws-sdk/* is external: @smithy/* stays bundled, as the X-Ray SDK behind Powertools
    // Tracer requires @smithy/service-error-classification at a version we test with.
    ...(bundleAwsSdk ? { bundleAwsSDK: true } : { externalModules: ['@aws-sdk/*'] }),
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) => [
        ...(splitEntry ? [codeSplittingCommand(inputDir, outputDir, splitEntry, bundleAwsSdk)] : []),
        copyCommand(projectPath(inputDir, configPath), `${outputDir}/${BUNDLED_CONFIG_FILE}`),
        parsedConfigCommand(inputDir, projectPath(inputDir, configPath), parsedConfigPath(`${outputDir}/${BUNDLED_CONFIG_FILE}`)),
        ...afterBundling(inputDir, outputDir),
      ],
    },
  };
}

/**
 * Where a code-split bundle puts the chunks its entry (`index.mjs`) imports: code reached only
 * through a dynamic `import()` (the MCP SDK and ajv, the Bedrock, SQS and AppConfig clients, the
 * SDK's rarer credential providers, X-Ray) lands in a chunk of its own.
 */
export const CHUNKS_DIR = 'chunks';

/**
 * Rebuilds the bundle NodejsFunction made, same settings, with esbuild's code splitting, over
 * it in `outputDir`. NodejsFunction bundles to one file (`--outfile`, which esbuild's
 * `--splitting` refuses), and in one file every dynamically imported module is still parsed at
 * cold start: split out, the gateway's cold import parses ~40% less code and takes ~17 ms less
 * CPU (`npm run bench:cold`). Lambda imports `index.mjs`, which imports its chunks itself.
 * Runs the project's esbuild, as GatewayFunction's console build does.
 */
export function codeSplittingCommand(inputDir: string, outputDir: string, entry: string, bundleAwsSdk = true): string {
  const args = [
    projectPath(inputDir, entry),
    '--bundle',
    '--splitting',
    '--format=esm',
    '--platform=node',
    '--target=node22',
    '--minify',
    '--sourcemap',
    '--sources-content=false',
    '--main-fields=module,main',
    `--banner:js=${ESM_REQUIRE_BANNER}`,
    ...(bundleAwsSdk ? [] : ['--external:@aws-sdk/*']),
    `--outdir=${outputDir}`,
    '--entry-names=index',
    `--chunk-names=${CHUNKS_DIR}/[name]-[hash]`,
    '--out-extension:.js=.mjs',
    '--log-level=warning',
  ];
  return [`${inputDir}/node_modules/.bin/esbuild`, ...args].map(shellQuote).join(' ');
}

/**
 * Writes the config's schema-validated form beside its copy in the bundle
 * (`breakwater.config.parsed.json`, bound to the copy by a hash): the function's cold start then
 * skips building and running the config's zod schemas (shared/config/parsedConfig.ts). Runs the
 * project's tsx, as codeSplittingCommand runs its esbuild; an invalid config fails the bundling.
 */
export function parsedConfigCommand(inputDir: string, configFile: string, outFile: string): string {
  return [`${inputDir}/node_modules/.bin/tsx`, `${inputDir}/bin/writeParsedConfig.ts`, configFile, outFile].map(shellQuote).join(' ');
}

/**
 * What the gateway and the worker functions have in common: creates `LogGroup` and `Function`
 * as children of this construct (ids kept stable: renaming them would replace deployed
 * resources): an ESM bundle (esbuild), arm64, Node 24, X-Ray active tracing, its own log group,
 * the routing config shipped in the bundle, and a `live` alias on the current version that every
 * caller invokes, so a release can shift traffic between versions (see CanaryRelease).
 */
export abstract class BreakwaterNodejsFunction extends Construct {
  readonly function: NodejsFunction;
  /** The `live` alias: invoke this, not {@link function}. */
  readonly alias: Alias;
  readonly logGroup: LogGroup;
  /** Absolute path of the routing config copied into the bundle. */
  readonly configPath: string;
  readonly timeout: Duration;

  protected constructor(scope: Construct, id: string, props: BreakwaterFunctionOptions, spec: BreakwaterFunctionSpec) {
    super(scope, id);

    const entry = fromRepoRoot(props.entry ?? spec.defaultEntry);
    this.configPath = fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH);
    this.timeout = props.timeout ?? spec.defaultTimeout;

    if (spec.missingEntryMessage) requireWhenBundling(this, entry, spec.missingEntryMessage(entry));
    requireWhenBundling(
      this,
      this.configPath,
      `Breakwater routing config not found at ${this.configPath}; it is copied into the Lambda bundle. ` +
        'Create it or pass the configPath stack prop.',
    );

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Default removal policy (RETAIN): logs outlive a stack deletion.
    });

    this.function = new NodejsFunction(this, 'Function', {
      description: spec.description,
      entry,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE_PATH,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      timeout: this.timeout,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: spec.serviceName,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Breakwater',
        BREAKWATER_CONFIG: `${LAMBDA_TASK_ROOT}/${BUNDLED_CONFIG_FILE}`,
        ...(props.sourceMapStackTraces ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...props.environment,
      },
      bundling: breakwaterBundling(this.configPath, props.bundleAwsSdk, spec.afterBundling, entry),
    });
    this.alias = new Alias(this, 'LiveAlias', { aliasName: LIVE_ALIAS, version: this.function.currentVersion });
  }
}

/**
 * A host path (the config, the entry) as the bundling step sees it. Inside the project root it is
 * addressed relative to inputDir so that Docker bundling (/asset-input) works too;
 * outside it, the absolute host path is used (local bundling only).
 */
function projectPath(inputDir: string, path: string): string {
  const rel = relative(REPO_ROOT, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return path;
  return `${inputDir}/${rel.split(sep).join('/')}`;
}

/** POSIX shell (local bundling on Linux/macOS, or inside the Docker bundling image). */
function copyCommand(from: string, to: string): string {
  return `cp ${shellQuote(from)} ${shellQuote(to)}`;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
