import { PlanResult, PlanValidationError } from '../engine';
import { RequestShapeError } from '../application/validate-request';
import { Backend } from './backend';
import { HttpBackend } from './http-backend';
import { CliIo, EXIT, run } from './main';
import { SavedPlanView } from './table';

/** Streams that keep what was written. */
function capture(isTTY = false) {
  const chunks: string[] = [];
  return {
    isTTY,
    chunks,
    write: (chunk: string) => chunks.push(chunk) > 0,
    text: () => chunks.join(''),
  };
}

/** A backend that records what it was asked and answers with what the test gives it. */
function fakeBackend(overrides: Partial<Backend> = {}): Backend & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  const record =
    <T>(name: string, answer: () => T) =>
    async (...args: unknown[]) => {
      calls.push([name, ...args]);
      return answer();
    };
  return {
    calls,
    estimate: record('estimate', () => ({ engineVersion: 'fake' }) as unknown as PlanResult),
    compare: record('compare', () => [
      { label: 'ZeRO-0', errors: [{ field: 'x', message: 'not possible' }] },
    ]),
    search: async (input, onProgress) => {
      calls.push(['search', input]);
      for (let done = 0; done <= 4; done++) onProgress(done, 4);
      return { results: [], examined: 4 };
    },
    gpusNeeded: record('gpusNeeded', () => ({
      gpu: 'g',
      maxGpus: 64,
      fewest: null,
      cheapest: null,
      tried: [],
      warnings: [],
    })),
    savePlan: record('savePlan', () => ({
      plan: { id: 'p1', name: 'mine' } as unknown as SavedPlanView,
      url: 'http://h:1/api/v1/plans/p1',
    })),
    listPlans: record('listPlans', () => []),
    summarizePlans: record('summarizePlans', () => ({
      plans: 0,
      fitting: 0,
      notFitting: 0,
      budgeted: 0,
      gpuHours: 0,
      totalUsd: 0,
    })),
    exportPlansCsv: record('exportPlansCsv', () => 'id,name\r\n'),
    addModel: record('addModel', () => ({ id: 'mine', name: 'Mine', parameters: { total: 1234 } })),
    ...overrides,
  };
}

function harness(backend: Backend, files: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  const io: CliIo = {
    stdout,
    stderr,
    readFile: (path) => {
      if (!(path in files)) throw new Error('ENOENT');
      return files[path];
    },
    localBackend: async () => backend,
  };
  return { io, stdout, stderr };
}

describe('shardplan run()', () => {
  it('plan --json sends the flags as a PlanRequest and prints the answer as JSON', async () => {
    const backend = fakeBackend();
    const { io, stdout } = harness(backend);
    const status = await run(
      ['plan', '--model', 'llama-3-8b', '--gpu', 'a100-80gb', '--zero', '3', '--json'],
      io,
    );
    expect(status).toBe(EXIT.ok);
    expect(backend.calls).toEqual([
      [
        'estimate',
        { model: 'llama-3-8b', cluster: { gpu: 'a100-80gb' }, parallelism: { zeroStage: 3 } },
      ],
    ]);
    expect(JSON.parse(stdout.text())).toEqual({ engineVersion: 'fake' });
  });

  it('reads --file and lets flags override it', async () => {
    const backend = fakeBackend();
    const file = JSON.stringify({ model: 'llama-2-7b', cluster: { gpu: 'l40s', gpusPerNode: 2 } });
    const { io } = harness(backend, { 'req.json': file });
    await run(['plan', '--file', 'req.json', '--gpus-per-node', '4', '--json'], io);
    expect(backend.calls[0][1]).toEqual({
      model: 'llama-2-7b',
      cluster: { gpu: 'l40s', gpusPerNode: 4 },
    });
  });

  it('exits 1 with the engine field errors when the request cannot be planned', async () => {
    const invalid = new PlanValidationError([
      {
        field: 'parallelism.tensorParallel',
        message: 'tensorParallel (3) must divide num_attention_heads (32)',
      },
    ]);
    const backend = fakeBackend({ estimate: () => Promise.reject(invalid) });
    const { io, stdout, stderr } = harness(backend);
    const status = await run(
      ['plan', '--model', 'llama-3-8b', '--gpu', 'a100-80gb', '--tp', '3'],
      io,
    );
    expect(status).toBe(EXIT.invalid);
    expect(stdout.text()).toBe('');
    expect(stderr.text()).toContain(
      'parallelism.tensorParallel: tensorParallel (3) must divide num_attention_heads (32)',
    );
  });

  it('exits 2 on options it does not know, before asking the backend anything', async () => {
    const backend = fakeBackend();
    const { io, stderr } = harness(backend);
    const status = await run(['plan', '--model', 'm', '--gpu', 'g', '--sequence', '9'], io);
    expect(status).toBe(EXIT.usage);
    expect(stderr.text()).toContain('unknown option --sequence');
    expect(backend.calls).toEqual([]);
  });

  it("exits 1 with the API's DTO messages when the request's shape is wrong", async () => {
    const invalid = new RequestShapeError([
      {
        field: 'training.sequenceLength',
        message: "sequenceLength must be a positive integer, e.g. 4096 (got 'long')",
      },
    ]);
    const { io, stderr } = harness(fakeBackend({ estimate: () => Promise.reject(invalid) }));
    const status = await run(['plan', '--model', 'm', '--gpu', 'g', '--seq', 'long'], io);
    expect(status).toBe(EXIT.invalid);
    expect(stderr.text()).toContain('training.sequenceLength: sequenceLength must be a positive');
  });

  it('compare shows variants the backend could not plan with their reason', async () => {
    const backend = fakeBackend();
    const { io, stdout } = harness(backend);
    expect(await run(['compare', '--vary', 'zeroStage', '--model', 'm', '--gpu', 'g'], io)).toBe(
      EXIT.ok,
    );
    expect(backend.calls[0]).toEqual([
      'compare',
      { model: 'm', cluster: { gpu: 'g' } },
      'zeroStage',
    ]);
    expect(stdout.text()).toMatch(/ZeRO-0 .*invalid.*not possible/);
  });

  it('search draws its progress on stderr and keeps stdout for the results', async () => {
    const { io, stdout, stderr } = harness(fakeBackend());
    expect(await run(['search', '--model', 'm', '--gpu', 'g', '--json'], io)).toBe(EXIT.ok);
    expect(JSON.parse(stdout.text())).toEqual({ results: [], examined: 4 });
    expect(stderr.text()).toContain('100% 4/4 layouts');
  });

  it('plans list needs a server, since saved plans live there', async () => {
    const { io, stderr } = harness(fakeBackend());
    expect(await run(['plans', 'list', '--tag', 'x'], io)).toBe(EXIT.usage);
    expect(stderr.text()).toContain('server: saved plans live on a server');
  });

  it('models add posts the config under the id given or the file name', async () => {
    const backend = fakeBackend();
    const { io, stdout } = harness(backend, { 'configs/mine.json': '{"hidden_size": 64}' });
    expect(await run(['models', 'add', 'configs/mine.json'], io)).toBe(EXIT.ok);
    expect(backend.calls[0]).toEqual(['addModel', 'mine', { hidden_size: 64 }]);
    expect(stdout.text()).toBe("model 'mine' added: 1,234 parameters\n");
  });

  it('--fail-if-not-fit exits 4 when the plan does not fit, and only then', async () => {
    const plan = (fits: boolean) =>
      ({
        memory: { perGpu: { fits } },
      }) as unknown as PlanResult;
    const unfit = fakeBackend({ estimate: async () => plan(false) });
    const args = ['plan', '--model', 'm', '--gpu', 'g', '--json', '--fail-if-not-fit'];
    expect(await run(args, harness(unfit).io)).toBe(EXIT.notFit);
    expect(await run(args, harness(fakeBackend({ estimate: async () => plan(true) })).io)).toBe(
      EXIT.ok,
    );
    expect(await run(args.slice(0, -1), harness(unfit).io)).toBe(EXIT.ok);
  });

  it('plan --save needs a server, and --tag joins the tags of --tags', async () => {
    const { io, stderr } = harness(fakeBackend());
    expect(await run(['plan', '--model', 'm', '--gpu', 'g', '--save'], io)).toBe(EXIT.usage);
    expect(stderr.text()).toContain('server: plans are saved on a server');
  });

  it('plans summary and export need a server; export prints the CSV as the server sends it', async () => {
    const local = harness(fakeBackend());
    expect(await run(['plans', 'export', '--csv'], local.io)).toBe(EXIT.usage);
    expect(await run(['plans', 'summary'], local.io)).toBe(EXIT.usage);
    expect(await run(['plans', 'delete'], local.io)).toBe(EXIT.usage);
    expect(local.stderr.text()).toContain(
      "unknown plans command 'delete'; one of: list, summary, export",
    );
  });

  it('gpus-needed sends the job with the GPU type, --max-gpus as a number and no node count', async () => {
    const backend = fakeBackend();
    const { io, stdout } = harness(backend);
    const argv = [
      'gpus-needed',
      '--model',
      'm',
      '--gpu',
      'l40s',
      '--nodes',
      '2',
      '--max-gpus',
      '64',
    ];
    expect(await run([...argv, '--method', 'qlora', '--name', 'x'], io)).toBe(EXIT.ok);
    expect(backend.calls[0]).toEqual([
      'gpusNeeded',
      { model: 'm', cluster: { gpu: 'l40s', maxGpus: 64 }, training: { method: 'qlora' } },
    ]);
    expect(stdout.text()).toContain('no layout fits on up to 64 x g: raise --max-gpus');
  });

  it('prints help with every flag and its request field', async () => {
    const { io, stdout } = harness(fakeBackend());
    expect(await run(['--help'], io)).toBe(EXIT.ok);
    expect(stdout.text()).toMatch(/--gpus-per-node\s+cluster\.gpusPerNode/);
  });
});

describe('HttpBackend', () => {
  const realFetch = global.fetch;
  afterEach(() => {
    global.fetch = realFetch;
  });

  it('turns a problem+json answer into the field errors the CLI prints, exit 1', async () => {
    const problem = {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'the request cannot be planned',
      errors: [{ field: 'cluster.gpu', message: "unknown gpu 'a100-90gb'" }],
    };
    const requests: [string, RequestInit | undefined][] = [];
    global.fetch = (async (url: string, init?: RequestInit) => {
      requests.push([url, init]);
      return new Response(JSON.stringify(problem), {
        status: 400,
        headers: { 'content-type': 'application/problem+json' },
      });
    }) as typeof fetch;
    const stdout = capture();
    const stderr = capture();
    const io: CliIo = {
      stdout,
      stderr,
      readFile: () => '',
      localBackend: () => Promise.reject(new Error('must not run locally')),
    };
    const status = await run(
      ['plan', '--model', 'llama-3-8b', '--gpu', 'a100-90gb', '--server', 'http://h:1/'],
      io,
    );
    expect(status).toBe(EXIT.invalid);
    expect(requests[0][0]).toBe('http://h:1/api/v1/plans/estimate');
    expect(JSON.parse(String(requests[0][1]?.body))).toEqual({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-90gb' },
    });
    expect(stderr.text()).toContain("cluster.gpu: unknown gpu 'a100-90gb'");
  });

  it('lists plans with the tag filter in the query', async () => {
    const urls: string[] = [];
    global.fetch = (async (url: string) => {
      urls.push(url);
      return new Response(JSON.stringify({ items: [], nextCursor: null }), { status: 200 });
    }) as typeof fetch;
    expect(await new HttpBackend('http://h:1').listPlans({ tag: 'a b', limit: 5 })).toEqual([]);
    expect(urls).toEqual(['http://h:1/api/v1/plans?tag=a+b&limit=5']);
  });
});
