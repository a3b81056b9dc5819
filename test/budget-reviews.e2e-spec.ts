// Budget reviews from a terminal: the CLI against a real server on a port (plan --save with a
// name and a tag, --tokens, plans summary, plans export --csv, --fail-if-not-fit, gpus-needed),
// and the summary's rule that a plan that does not fit costs nothing.
import { NestExpressApplication } from '@nestjs/platform-express';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CliIo, EXIT, run } from '../src/cli/main';
import { parseCsvRecords } from '../scripts/csv';
import { startApp, temporaryDatabase } from './support/app';

const ROOT = join(__dirname, '..');
/** Fits: Llama-3.2-1B under DDP on 8 x H100. */
const FITS = [
  '--model',
  'llama-3.2-1b',
  '--gpu',
  'h100-80gb',
  '--gpus-per-node',
  '8',
  '--seq',
  '4096',
];
/** Does not fit: the QLoRA of Llama-3.1-70B on one L40S. */
const TOO_BIG = ['--model', 'llama-3.1-70b', '--gpu', 'l40s', '--method', 'qlora', '--seq', '2048'];

/** The CLI in this process with its streams kept; its HTTP goes to the real server. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const stream = (chunks: string[]) => ({ isTTY: false, write: (c: string) => chunks.push(c) > 0 });
  const io: CliIo = {
    stdout: stream(out),
    stderr: stream(err),
    readFile: () => '',
    localBackend: () => Promise.reject(new Error('these runs go to the server')),
  };
  const status = await run(argv, io);
  return { status, stdout: out.join(''), stderr: err.join('') };
}

/** bin/shardplan.js as a child process, waited for without blocking the server in this one. */
function binary(
  ...argv: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'shardplan.js'), ...argv], {
      cwd: ROOT,
      env: { ...process.env, SHARDPLAN_FROM_SOURCE: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('budget reviews with the CLI against a server (e2e)', () => {
  const database = temporaryDatabase();
  let app: NestExpressApplication;
  let server: string;

  beforeAll(async () => {
    app = await startApp(database.path);
    await app.listen(0, '127.0.0.1');
    server = await app.getUrl();
  });
  afterAll(async () => {
    await app.close();
    database.remove();
  });

  const get = async (path: string) => fetch(`${server}/api/v1${path}`);

  it('plan --save --name --tag --tokens saves on the server and says where; the table has the budget', async () => {
    const { status, stdout, stderr } = await cli(
      'plan',
      ...FITS,
      '--tokens',
      '1e9',
      '--save',
      '--name',
      '1B on 8 x H100',
      '--tag',
      'review',
      '--server',
      server,
    );
    expect(status).toBe(EXIT.ok);
    const saved = /saved as '1B on 8 x H100' \(id ([0-9a-f-]+)\): (\S+)/.exec(stderr)!;
    expect(saved[2]).toBe(`${server}/api/v1/plans/${saved[1]}`);
    const plan = await (await fetch(saved[2])).json();
    expect(plan).toMatchObject({ name: '1B on 8 x H100', tags: ['review'] });
    // GPU-hours: tokens / (tokens per second) / 3600 x GPUs; days: the hours over 24; cost: x price.
    const hours = 1e9 / plan.performance.tokensPerSecond / 3600;
    expect(plan.cost.gpuHours).toBeCloseTo(hours * 8, 6);
    expect(plan.cost.wallClockDays).toBeCloseTo(hours / 24, 6);
    expect(plan.cost.totalUsd).toBeCloseTo(hours * 8 * plan.cost.pricePerGpuHour, 6);
    expect(stdout).toMatch(/tokens\s+cluster\s+GPU-hours\s+wall clock\s+cost/);
    expect(stdout).toContain(`${(hours / 24).toFixed(1)} days`);
  });

  it('--fail-if-not-fit exits 4 for a plan that does not fit and 0 for one that fits', async () => {
    const tooBig = await cli('plan', ...TOO_BIG, '--fail-if-not-fit', '--server', server);
    expect(tooBig.status).toBe(EXIT.notFit);
    expect(tooBig.stdout).toMatch(
      /^DOES NOT FIT: [\d.]+ GiB \(80% range [\d.]+–[\d.]+ GiB\) of 45\.0 GiB per GPU/m,
    );
    expect(tooBig.stdout).toContain('to make it fit (best first');
    expect((await cli('plan', ...FITS, '--fail-if-not-fit', '--server', server)).status).toBe(
      EXIT.ok,
    );
    // Without the flag a plan that does not fit is still an answer, not a failure.
    expect((await cli('plan', ...TOO_BIG, '--server', server)).status).toBe(EXIT.ok);
  });

  it('plans summary counts no cost for a plan that does not fit', async () => {
    const tooBig = await cli(
      'plan',
      ...TOO_BIG,
      '--tokens',
      '1e8',
      '--save',
      '--tag',
      'review',
      '--server',
      server,
      '--json',
    );
    expect(tooBig.status).toBe(EXIT.ok);
    const unfit = JSON.parse(tooBig.stdout);
    expect(unfit.memory.perGpu.fits).toBe(false);
    expect(unfit.cost.totalUsd).toBeGreaterThan(0); // the plan has a figure; the summary ignores it
    const list = await (await get('/plans?tag=review')).json();
    const fitting = list.items.filter(
      (p: { memory: { perGpu: { fits: boolean } } }) => p.memory.perGpu.fits,
    );
    expect(fitting).toHaveLength(1);
    const { status, stdout } = await cli(
      'plans',
      'summary',
      '--tag',
      'review',
      '--server',
      server,
      '--json',
    );
    expect(status).toBe(EXIT.ok);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({
      tag: 'review',
      plans: 2,
      fitting: 1,
      notFitting: 1,
      budgeted: 1,
    });
    expect(summary.gpuHours).toBeCloseTo(fitting[0].cost.gpuHours, 9);
    expect(summary.totalUsd).toBeCloseTo(fitting[0].cost.totalUsd, 9);
    expect(summary).toEqual(await (await get('/plans/summary?tag=review')).json());
    const table = await cli('plans', 'summary', '--tag', 'review', '--server', server);
    expect(table.stdout).toMatch(/not fitting\s+1/);
  });

  it("plans export --csv writes the server's CSV with the layout in full", async () => {
    const { status, stdout } = await cli(
      'plans',
      'export',
      '--csv',
      '--tag',
      'review',
      '--server',
      server,
    );
    expect(status).toBe(EXIT.ok);
    expect(stdout).toBe(await (await get('/plans/export.csv?tag=review')).text());
    const [header, ...rows] = parseCsvRecords(stdout).filter((r) => r.length > 1);
    const records = rows.map((row) => Object.fromEntries(row.map((v, i) => [header[i], v])));
    const qlora = records.find((r) => r.model === 'llama-3.1-70b')!;
    expect(qlora).toMatchObject({
      workload: 'training',
      method: 'qlora',
      zeroStage: '0',
      activationCheckpointing: 'none',
      microBatchSize: '1',
      sequenceLength: '2048',
      fits: 'false',
      verdict: 'does not fit',
    });
  });

  it('gpus-needed answers through the server', async () => {
    const { status, stdout } = await cli('gpus-needed', ...TOO_BIG, '--server', server, '--json');
    expect(status).toBe(EXIT.ok);
    const answer = JSON.parse(stdout);
    expect(answer.fewest.gpus).toBeGreaterThan(1);
    const table = await cli('gpus-needed', ...TOO_BIG, '--server', server);
    expect(table.stdout).toMatch(new RegExp(`^fewest\\s+${answer.fewest.gpus}\\s`, 'm'));
  });

  it('the binary itself saves against the server and names the saved plan', async () => {
    const { status, stdout, stderr } = await binary(
      'plan',
      ...FITS,
      '--save',
      '--name',
      'from the binary',
      '--server',
      server,
      '--json',
    );
    expect(status).toBe(0);
    const plan = JSON.parse(stdout);
    expect(stderr).toBe(
      `saved as 'from the binary' (id ${plan.id}): ${server}/api/v1/plans/${plan.id}\n`,
    );
    expect((await get(`/plans/${plan.id}`)).status).toBe(200);
  });

  it('saving needs a server, and says so', async () => {
    const { status, stderr } = await cli('plan', ...FITS, '--save');
    expect(status).toBe(EXIT.usage);
    expect(stderr).toContain('server: plans are saved on a server');
  });
});
