import { pino, type Logger, type DestinationStream } from 'pino';
import { looksLikeSecret } from './sign-in-log.js';

/**
 * Query parameters whose value is a secret, by their decoded, lower-cased name. The name is
 * compared after percent-decoding because a client may encode any character of it
 * (`SS%2DPassword`, `%53S-Password`) and the query parser decodes it the same way.
 */
const SECRET_PARAMS = new Set(['ss-password', 'password', 'api_key', 'token']);
/**
 * Query parameters that carry a username: kept, unless the value looks like one of our secrets (a
 * store password pasted into ShipStation's username field), as failed sign-ins log usernames.
 */
const USERNAME_PARAMS = new Set(['ss-username']);

function decodedValue(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

function decodedName(raw: string): string {
  const name = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name).toLowerCase();
  } catch {
    // A malformed escape: the query parser keeps such a name as it is.
    return name.toLowerCase();
  }
}

/** The URL with the value of every secret query parameter masked, whatever the name's case or encoding. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
  let changed = false;
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const decoded = decodedName(name);
    const secretLike =
      USERNAME_PARAMS.has(decoded) && eq >= 0 && looksLikeSecret(decodedValue(part.slice(eq + 1)));
    if (!secretLike && !SECRET_PARAMS.has(decoded)) return part;
    changed = true;
    return `${name}=[REDACTED]`;
  });
  if (!changed) return url;
  return `${url.slice(0, q + 1)}${parts.join('&')}${hash < 0 ? '' : url.slice(hash)}`;
}

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'api_key',
  '*.password',
  '*.api_key',
  'credential.api_key',
  'shipstation.password',
  'query["SS-Password"]',
];

/** Fields that hold a request URL: logged with their secret query values masked, not dropped. */
const URL_PATHS = ['url', 'req.url', 'err.url'];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'shipbridge' },
      redact: {
        paths: [...REDACT_PATHS, ...URL_PATHS],
        censor: (value: unknown, path: string[]) =>
          path[path.length - 1] === 'url' && typeof value === 'string' ? redactUrl(value) : '[REDACTED]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
