/**
 * The four things that can go wrong talking to a remote store, as the sync engine sees
 * them. Each connector maps its native errors to these in one function. `retryable`
 * tells the queue whether to back off and retry (true) or surface the error (false).
 */
export abstract class ConnectorError extends Error {
  abstract readonly retryable: boolean;
  /** Stable code, for logs, status output and matching across package copies. */
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The item changed (or appeared) since it was read. Retry with a fresh read. */
export class VersionMismatch extends ConnectorError {
  readonly retryable = true;
  readonly code = 'version-mismatch';
}

/** Network, timeout, server down or overloaded. Retry with backoff. */
export class Unavailable extends ConnectorError {
  readonly retryable = true;
  readonly code = 'unavailable';
}

/** The remote refused the data, the credentials or the operation. Permanent. */
export class Rejected extends ConnectorError {
  readonly retryable = false;
  readonly code = 'rejected';
}

/** The item or collection does not exist. */
export class NotFound extends ConnectorError {
  readonly retryable = false;
  readonly code = 'not-found';
}
