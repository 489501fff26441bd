export { CONNECTION_STATUS, ConnectionRecords, connectionKey, pendingKey, type ConnectionRecord, type ConnectionStatus, type PendingConnect } from './ConnectionRecords';
export { Connections, type ConnectionsOptions, type ConnectionView } from './Connections';
export { ConnectionTokens, type ConnectionTokensOptions } from './ConnectionTokens';
export { createConnections, type CreateConnectionsInput } from './createConnections';
export { connectUrl, reauthorizationRequired } from './oauthServices';
export { DEFAULT_TOKEN_KEY_SECRET, TokenVault, type TokenVaultOptions, type UserTokens } from './TokenVault';
export { TokenKeyRing, type DataKey } from './TokenKeyRing';
export { parseUserId } from './userId';
