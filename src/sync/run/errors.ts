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

/** True when a retry with backoff may succeed. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableSyncError || err instanceof EtagMismatch || err instanceof StoreUnavailable) return true;
  if (err instanceof ConnectorError) return err.retryable;
  return false;
}
