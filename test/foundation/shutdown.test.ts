import t from 'tap';
import { embeddedOnlySkip, freePort, startServer, waitReady } from '../helpers/server-process.js';
import { rawConnect } from '../helpers/raw-http.js';

/**
 * Process-level, on the embedded database in memory: draining on SIGTERM is the HTTP server's
 * behaviour and does not depend on the database engine.
 */
t.test(
  'SIGTERM closes idle keep-alive connections at once, answers the request in flight, exits 0',
  { skip: embeddedOnlySkip },
  async (t) => {
    const port = await freePort();
    const token = 'shutdown-test-admin-token';
    const p = startServer({
      PORT: String(port),
      HOST: '127.0.0.1',
      PGLITE_IN_MEMORY: 'true',
      ADMIN_TOKEN: token,
      // Far beyond the keep-alive timeout would never matter: the process must not wait for either.
      SHUTDOWN_GRACE_MS: '60000',
    });
    t.teardown(() => p.child.kill('SIGKILL'));
    await waitReady(port);

    // An idle keep-alive connection: one request answered, the connection left open.
    const idle = await rawConnect(port);
    idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    const health = await idle.response();
    t.equal(health.status, 200);
    t.not(health.headers.connection, 'close');

    // A request in flight on another keep-alive connection: its body is only half sent.
    const body = JSON.stringify({ code: 'drain-test', name: 'Drain Test' });
    const busy = await rawConnect(port);
    busy.write(
      'POST /v1/warehouses HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n' +
        `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    // Node writes 100 Continue as it hands the request to the app: from here it is in flight.
    t.equal((await busy.response()).status, 100);
    busy.write(body.slice(0, 10));

    p.child.kill('SIGTERM');
    await p.waitFor(/draining in-flight requests/);
    await idle.closed;
    t.pass('the idle keep-alive connection is closed');

    busy.write(body.slice(10));
    const created = await busy.response();
    t.equal(created.status, 201, 'the request in flight is answered');
    t.equal(created.headers.connection, 'close', 'and told the connection closes');
    t.match(JSON.parse(created.body), { warehouse: { code: 'drain-test' } });
    await busy.closed;

    t.equal(await p.exited, 0, 'exits 0 once drained');
    t.notMatch(p.output(), /killed by timeout/);
  },
);
