/** Entry point behind `bin/breakwater.js`; everything testable lives in runCli. */
import { runCli } from './runCli';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  io: {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
});
