/** Which failures of a sync run a retry with backoff can fix. */
import { ConnectorError } from '../../../connectors/errors.ts';
import { EtagMismatch, StoreUnavailable } from '../../store/types.ts';

/** A run that failed in a way a retry can fix (lost race, remote or database down). */
export class RetryableSyncError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableSyncError';
  }
}

/**
 * A remote write of the run lost its race: the item changed on the remote since it was read
 * (the connector's VersionMismatch, a 412). The runner re-reads and re-plans; left to the
 * queue, it is a retry like any lost race.
 */
export class RemoteRaceLost extends RetryableSyncError {
  /** The plan decision's item id (stable across re-plans). */
  readonly item: string;
  constructor(item: string, cause: Error) {
    super(`remote item changed during sync: ${cause.message}`, { cause });
    this.name = 'RemoteRaceLost';
    this.item = item;
  }
}

/** True when a retry with backoff may succeed. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableSyncError || err instanceof EtagMismatch || err instanceof StoreUnavailable) return true;
  if (err instanceof ConnectorError) return err.retryable;
  return false;
}
