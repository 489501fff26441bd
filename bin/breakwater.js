#!/usr/bin/env node
// `npx breakwater ...`: the CLI is TypeScript like the rest of the repo, compiled on the fly by
// tsx's loader, so there is no build step to forget.
import { register } from 'tsx/esm/api';

// Lambda runs Node 22; on a Node 20 laptop the AWS SDK's upgrade notice is just noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('./cli/main.ts');
