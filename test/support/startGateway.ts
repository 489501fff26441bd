import type { Logger } from '@aws-lambda-powertools/logger';
import { startApiGatewayServer, type RunningServer } from '../../bin/local/apiGatewayServer';
import { installAwsLambdaGlobal } from '../../bin/local/lambdaStreaming';
import { createGatewayHandler } from '../../functions/gateway/createHandler';
import { compileConfig, type BreakwaterConfigInput } from '../../shared/config';
import { EnvSecretSource, type SecretSource } from '../../shared/credentials';
import { createLogger } from '../../shared/logging';
import type { Clock, RandomSource } from '../../shared/resilience';

export interface TestGatewayOptions {
  config: BreakwaterConfigInput;
  secrets?: SecretSource;
  clock?: Clock;
  random?: RandomSource;
  /** What the fake Lambda context reports as the function's timeout. */
  functionTimeoutMs?: number;
  /** @default 'SILENT' */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Replaces the logger `logLevel` describes (a capturingLogger, say). */
  logger?: Logger;
}

/**
 * The real handler behind the real local server, on a free loopback port, with test doubles
 * injected. The handler streams its responses as on Lambda, through the local `awslambda`.
 */
export async function startTestGateway(options: TestGatewayOptions): Promise<RunningServer> {
  installAwsLambdaGlobal();
  const handler = createGatewayHandler({
    config: compileConfig(options.config),
    secrets: options.secrets ?? new EnvSecretSource({}),
    clock: options.clock,
    random: options.random,
    // Made as production makes it: every line redacted.
    logger: options.logger ?? createLogger({ serviceName: 'breakwater-test', logLevel: options.logLevel ?? 'SILENT' }),
  });
  return startApiGatewayServer({ handler, port: 0, functionTimeoutMs: options.functionTimeoutMs });
}

/** A system clock that remembers every sleep it was asked for. */
export function recordingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now(),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
    },
  };
}
