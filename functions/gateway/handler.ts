import { loadConfigFile } from '../../shared/config';
import { EnvSecretSource } from '../../shared/credentials';
import { createGatewayHandler } from './createHandler';

// Cold start: the config is read and validated once; a bad config fails the deploy's first
// invocation loudly instead of serving with half a config.
const config = await loadConfigFile(process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json');

export const handler = createGatewayHandler({ config, secrets: new EnvSecretSource() });
