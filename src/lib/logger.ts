import { pino, type Logger, type DestinationStream } from 'pino';

/** Secret query parameters are masked wherever a URL is logged. */
const SECRET_QUERY = /([?&](?:SS-Password|ss-password|password|api_key|token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]');
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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'shipbridge' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
