import { createServer, type Socket } from 'node:net';
import { createDynamoClients, type DynamoClients } from '../../shared/stores/dynamo';

/** Where nothing listens: every call fails at once with a connection error. */
export const DEAD_DYNAMO_ENDPOINT = 'http://127.0.0.1:1';

/** DynamoDB clients for a state store that is down. Destroy them in `after`. */
export const deadDynamoClients = (): DynamoClients => createDynamoClients({ endpoint: DEAD_DYNAMO_ENDPOINT });

export interface HungStore {
  /** `http://127.0.0.1:<port>`: connections are accepted, requests read, nothing ever answered. */
  endpoint: string;
  /** Connections accepted so far (each SDK attempt that got a socket). */
  readonly connections: number;
  /** Connections still open: a client that gave up should have closed its own. */
  readonly open: number;
  close(): Promise<void>;
}

/**
 * A store that hangs: a TCP server on loopback that accepts every connection and reads every
 * byte, but never writes one, like a frozen DynamoDB, SQS or Secrets Manager endpoint (or one
 * behind a black-holing network path). Unlike {@link DEAD_DYNAMO_ENDPOINT}, a client gets no
 * error at all: only its own timeouts end a call.
 */
export async function startHungStore(): Promise<HungStore> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
