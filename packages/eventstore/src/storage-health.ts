/**
 * PostgreSQL could not be reached or dropped the connection: nothing is wrong with the request,
 * and it may be tried again (503). Raised in place of the driver's error, which is its `cause`.
 */
export class StorageUnavailable extends Error {
  constructor(cause: unknown) {
    super(`storage unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'StorageUnavailable';
  }
}

/** Socket errors, and SQLSTATEs of classes 08 (connection) and 57P (the server shutting down). */
const CONNECTION_CODES =
  /^(E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|AI_AGAIN)|ENOTFOUND|08...|57P0[1-4])$/;
/**
 * pg reports a lost connection and a connect timeout without a code: its sentences are the only
 * sign, so they are matched here, where the driver's errors are born, and nowhere else.
 */
const DRIVER_SENTENCES =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Connection terminated due to connection timeout)/;

/** Whether the driver's error means the server was not there, rather than a refused statement. */
export const isConnectionFailure = (error: unknown): boolean => {
  if (error instanceof StorageUnavailable) return true;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return CONNECTION_CODES.test(String(code)) || DRIVER_SENTENCES.test(String(message));
};

/** Whether PostgreSQL answers; changes are told to listeners once each way. */
export interface StorageHealth {
  available(): boolean;
  /** Since when it is unavailable (ms since epoch), if it is. */
  downSince(): number | undefined;
  onChange(listener: (available: boolean, cause?: unknown) => void): () => void;
}

/**
 * Follows the outcomes of connections and statements: a connection that cannot be made marks the
 * storage down, any answer from the server marks it up again. `failed` turns a connection failure
 * into StorageUnavailable.
 */
export const createStorageHealth = () => {
  let down: number | undefined;
  const listeners = new Set<(available: boolean, cause?: unknown) => void>();
  const set = (available: boolean, cause?: unknown) => {
    if (available === (down === undefined)) return;
    down = available ? undefined : Date.now();
    for (const listener of listeners) listener(available, cause);
  };
  const health: StorageHealth = {
    available: () => down === undefined,
    downSince: () => down,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    health,
    succeeded<T>(value: T): T {
      set(true);
      return value;
    },
    /**
     * `connecting`: the failure is a new connection's. Only those mark the storage down: a
     * statement on a connection that died in an earlier outage fails too after the server is
     * back, and must not make the outage seem to begin again.
     */
    failed(error: unknown, options: { connecting: boolean }): Error {
      if (!isConnectionFailure(error)) {
        // The server answered, if only to refuse the statement.
        if ((error as { code?: unknown })?.code !== undefined) set(true);
        return error as Error;
      }
      if (options.connecting) set(false, error);
      return error instanceof StorageUnavailable ? error : new StorageUnavailable(error);
    },
  };
};
