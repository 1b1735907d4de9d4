/**
 * The CLI's HTTP client: every command but `migrate` talks to a running service, authenticated with
 * SHIPBRIDGE_ADMIN_TOKEN (Bearer) or SHIPBRIDGE_API_USER + SHIPBRIDGE_API_KEY (Basic).
 */

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The service refused the request (4xx/5xx), or some imported rows failed. */
  refused: 1,
  /** Bad usage: unknown command or option, missing argument, unreadable file. */
  usage: 2,
  /** No service to talk to: SHIPBRIDGE_URL unreachable or no credentials configured. */
  unavailable: 3,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The service's error body, printed as is with --json. */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url: string;
  adminToken: string | undefined;
  apiUser: string | undefined;
  apiKey: string | undefined;
}

export function clientOptionsFromEnv(env: NodeJS.ProcessEnv, url: string | undefined): ClientOptions {
  return {
    url: (url ?? env.SHIPBRIDGE_URL ?? 'http://localhost:3000').replace(/\/+$/, ''),
    adminToken: env.SHIPBRIDGE_ADMIN_TOKEN || undefined,
    apiUser: env.SHIPBRIDGE_API_USER || undefined,
    apiKey: env.SHIPBRIDGE_API_KEY || undefined,
  };
}

function authorization(o: ClientOptions): string {
  if (o.apiUser && o.apiKey) return `Basic ${Buffer.from(`${o.apiUser}:${o.apiKey}`).toString('base64')}`;
  if (o.adminToken) return `Bearer ${o.adminToken}`;
  throw new CliError(
    'no credentials: set SHIPBRIDGE_API_USER and SHIPBRIDGE_API_KEY, or SHIPBRIDGE_ADMIN_TOKEN',
    EXIT.unavailable,
  );
}

/** One request; answers the JSON body, or throws a CliError carrying the service's message. */
export async function call<T = Record<string, unknown>>(
  o: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${o.url}${path}`, {
      method,
      headers: {
        authorization: authorization(o),
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new CliError(
      `cannot reach ${o.url} (${cause}); is the service running? (SHIPBRIDGE_URL)`,
      EXIT.unavailable,
    );
  }
  const text = await res.text();
  const json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  if (!res.ok) {
    const err = (
      json as { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } }
    ).error;
    const details = err?.details?.map((d) => `\n  ${d.path}: ${d.message}`).join('') ?? '';
    throw new CliError(
      `${res.status} ${err?.code ?? 'error'}: ${err?.message ?? res.statusText}${details}`,
      EXIT.refused,
      json,
    );
  }
  return json as T;
}

/** Every page of a cursor-paginated list. */
export async function listAll<T>(o: ClientOptions, path: string, key: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Record<string, unknown> = await call(
      o,
      'GET',
      `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...((page[key] as T[]) ?? []));
    cursor = (page.next_cursor as string | null) ?? null;
  } while (cursor);
  return out;
}
