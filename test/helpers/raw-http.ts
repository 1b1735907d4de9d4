import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One TCP connection driven by hand: for what fetch hides (a body sent slowly, a connection kept
 * alive, answers Node writes before the application sees the request).
 */
export interface RawConnection {
  socket: Socket;
  write: (data: string) => void;
  /** The next complete response (Content-Length framed, or up to the close). */
  response: () => Promise<RawResponse>;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
}

export async function rawConnect(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let ended = false;
  let wake: (() => void) | undefined;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      ended = true;
      wake?.();
      resolve();
    });
  });
  socket.on('error', () => undefined);

  const parse = (): RawResponse | undefined => {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    const length = headers['content-length'];
    const start = end + 4;
    const status = Number(statusLine?.split(' ')[1]);
    let stop: number;
    if (status >= 100 && status < 200) {
      stop = start; // an interim answer (100 Continue) has no body
    } else if (length !== undefined) {
      stop = start + Number(length);
      if (buf.length < stop) return undefined;
    } else {
      if (!ended) return undefined;
      stop = buf.length;
    }
    const body = buf.subarray(start, stop).toString('utf8');
    buf = buf.subarray(stop);
    return { status, headers, body };
  };

  const response = async (): Promise<RawResponse> => {
    for (;;) {
      const r = parse();
      if (r) return r;
      if (ended) throw new Error(`connection closed without a complete response: ${buf.toString()}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  };
  return { socket, write: (data) => socket.write(data), response, closed };
}
