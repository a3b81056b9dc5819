// `npm start` on a taken address: the real entry point (src/main.ts) exits with one line that
// names HOST and PORT and says what to do, and no stack trace.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Server } from 'node:net';
import { join } from 'node:path';
import { sqliteDatabase, TestDatabase } from './support/databases';

const ROOT = join(__dirname, '..');

describe('starting on a port another process holds', () => {
  let holder: Server;
  let port: number;
  let database: TestDatabase;

  beforeAll(async () => {
    database = sqliteDatabase();
    holder = createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    port = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    holder.close();
    await database?.remove();
  });

  it('exits with status 1 and one line naming the address', async () => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...database.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        TS_NODE_TRANSPILE_ONLY: 'true',
        NO_COLOR: '1',
      },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `cannot listen on 127.0.0.1 port ${port}: another process is using it; stop it or set PORT to a free port`,
    ]);
  });
});
