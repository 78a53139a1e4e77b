/**
 * The one translation of pg and mysql2 errors into the connector errors
 * (connectors/errors.ts). Messages name the database (`host:port/db`) and what failed,
 * never the password or the values written.
 */
import { ConnectorError, NotFound, Rejected, Unavailable, VersionMismatch } from '../errors.ts';

/** Network-level failures of either driver (Node's errno codes and mysql2's own). */
const NETWORK = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'POOL_CLOSED',
]);

interface DriverError {
  code?: string;
  errno?: number;
  message?: string;
}

/**
 * Maps a driver error to a ConnectorError; ConnectorErrors pass through. `what` says what
 * was being done (`reading table xcap`). Unique-key violations are VersionMismatch (the row
 * appeared since it was read); missing tables/columns, bad data and refused credentials are
 * Rejected (permanent); connection trouble and server restarts are Unavailable.
 */
export function translateSqlError(err: unknown, target: string, what: string): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const e = (err ?? {}) as DriverError;
  const code = e.code ?? '';
  const detail = e.message ?? String(err);
  const at = `${what} on ${target}`;
  // pg reports a dropped connection or a connect timeout without a code.
  const dropped = code === '' && /Connection terminated|timeout exceeded|connection error|Connection ended/i.test(detail);
  if (NETWORK.has(code) || /^(08|57P|53)/.test(code) || dropped) {
    return new Unavailable(`${at}: database unreachable (${code || detail})`, { cause: err });
  }
  if (code === '23505' || code === 'ER_DUP_ENTRY') return new VersionMismatch(`${at}: the row already exists`, { cause: err });
  if (code === '42P01' || code === 'ER_NO_SUCH_TABLE') return new NotFound(`${at}: table missing (${detail})`, { cause: err });
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR') return new Rejected(`${at}: database does not exist`, { cause: err });
  if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    return new Rejected(`${at}: credentials refused`, { cause: err });
  }
  if (code === '22021') return new Rejected(`${at}: a value holds a byte the column cannot store (PostgreSQL text cannot hold NUL)`, { cause: err });
  return new Rejected(`${at}: ${detail}`, { cause: err });
}
