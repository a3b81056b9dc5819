// `npm run bench:responsive`: how long other requests wait while cold plans run, with the
// simulation threads off (SHARDPLAN_SIMULATION_THREADS=0) and on. This process serves the real
// AppModule on a temporary SQLite file; a child process (so the client never waits on the
// server's thread) sends cold plans one after another on one connection (a pipeline plan that
// fits; a plan that does not, which plans its advice too; an exhaustive layout search) while it
// asks GET /health every few milliseconds on another, and the health round trips are printed.
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from '../src/app.module';
import { closeSharedSimulationThreads } from '../src/application/simulation-threads';
import { API_PREFIX, configureApp } from '../src/common/configure-app';
import { median, printTable } from './support';

// How often the other client asks for health while the plans run.
const HEALTH_EVERY_MS = 10;
// Cold plans step the safety margin by a byte, which changes every rank's simulation and no
// figure a reader would notice.
const GIB = 2 ** 30;
// Llama-3-70B on eight pipeline stages with 64 micro-batches: eight rank simulations, and a plan
// that fits (a plan that does not fit also plans its advice, on the serving thread).
const PIPELINE = {
  model: 'llama-3-70b',
  cluster: { gpu: 'h100-80gb', nodes: 8, gpusPerNode: 8 },
  training: {
    sequenceLength: 8192,
    gradientAccumulationSteps: 64,
    activationCheckpointing: 'full',
  },
  parallelism: { tensorParallel: 8, pipelineParallel: 8, sequenceParallel: true },
};
// Llama-3-70B on 8 x A100 80GB under ZeRO-1 does not fit: each plan also plans its advice
// (dozens of changed plans and two layout searches).
const NOT_FITTING = {
  model: 'llama-3-70b',
  cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
  training: { sequenceLength: 4096 },
  parallelism: { zeroStage: 1 },
};

// A layout search of 1,024 GPUs that bounds every candidate: its bound runs on the serving
// thread, pausing between stretches (Finalists.boundEvery).
const EXHAUSTIVE_SEARCH = {
  model: 'llama-3-70b',
  cluster: { gpu: 'h100-80gb', gpus: 1024, gpusPerNode: 8 },
  training: { method: 'full', sequenceLength: 8192 },
  exhaustive: true,
};

interface Case {
  label: string;
  path: string;
  body: object;
  /** Cold plans one after another per setting. */
  plans: number;
}

const CASES: Case[] = [
  {
    label: 'Llama-3-70B TP 8 x PP 8, 64 micro-batches (fits)',
    path: 'plans/estimate',
    body: PIPELINE,
    plans: 6,
  },
  {
    label: 'Llama-3-70B on 8 x A100, ZeRO-1 (advice)',
    path: 'plans/estimate',
    body: NOT_FITTING,
    plans: 2,
  },
  {
    label: 'search of 1,024 GPUs, exhaustive',
    path: 'plans/search',
    body: EXHAUSTIVE_SEARCH,
    plans: 3,
  },
];

interface Measured {
  /** Round trips of GET /health while the plans ran, in ms. */
  health: number[];
  /** Round trips of the plans, in ms. */
  plans: number[];
  verdicts: string[];
}

/** The client child: plans and health checks against `base`, then the round trips. */
async function measure(base: string, which: Case, firstMargin: number): Promise<Measured> {
  const health: number[] = [];
  const plans: number[] = [];
  const verdicts: string[] = [];
  let planning = true;
  const pinger = (async () => {
    while (planning) {
      const started = performance.now();
      // A connection the server closed while it sat idle is reset when reused: asked again.
      await fetch(`${base}/health`).catch(() => fetch(`${base}/health`));
      health.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, HEALTH_EVERY_MS));
    }
  })();
  for (let i = 0; i < which.plans; i++) {
    const started = performance.now();
    const body = { ...which.body, runtime: { safetyMarginBytes: firstMargin + i } };
    const response = await fetch(`${base}/${which.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const plan = (await response.json()) as {
      memory?: { perGpu?: { verdict?: string } };
      results?: unknown[];
    };
    plans.push(performance.now() - started);
    const layouts = plan.results && `${plan.results.length} layouts`;
    verdicts.push(plan.memory?.perGpu?.verdict ?? layouts ?? `HTTP ${response.status}`);
  }
  planning = false;
  await pinger;
  return { health, plans, verdicts };
}

function inChild(base: string, which: number, firstMargin: number): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['client', base, String(which), String(firstMargin)], {
      execArgv: ['--require', 'ts-node/register/transpile-only'],
    });
    child.once('message', (measured: Measured) => resolve(measured));
    child.once('error', reject);
  });
}

async function serve(threads: number, database: string): Promise<NestExpressApplication> {
  await closeSharedSimulationThreads(); // the next use reads the setting below
  process.env.SHARDPLAN_SIMULATION_THREADS = String(threads);
  process.env.DATABASE_PATH = database;
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: ['error'] });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

const percentile = (values: number[], share: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(share * values.length))];

async function row(which: number, threads: number, firstMargin: number): Promise<string[]> {
  const folder = mkdtempSync(join(tmpdir(), 'shardplan-responsive-'));
  const app = await serve(threads, join(folder, 'bench.sqlite'));
  try {
    const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
    const base = `http://127.0.0.1:${port}/${API_PREFIX}`;
    // Warm-up, the same plans with other margins: the threads started and their code compiled
    // on this work, as a running service's would be.
    await inChild(base, which, firstMargin - 100);
    const { health, plans, verdicts } = await inChild(base, which, firstMargin);
    const ms = (value: number) => value.toFixed(0);
    return [
      CASES[which].label,
      threads === 0 ? 'serving thread only' : `${threads} simulation threads`,
      ms(median(plans)),
      String(health.length),
      ms(median(health)),
      ms(percentile(health, 0.95)),
      ms(Math.max(...health)),
      [...new Set(verdicts)].join(', '),
    ];
  } finally {
    await app.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const threads = Number(process.env.SHARDPLAN_SIMULATION_THREADS ?? availableParallelism());
  console.log(
    `GET /health every ${HEALTH_EVERY_MS} ms while cold plans run one after another; ${availableParallelism()} cores\n`,
  );
  const rows: string[][] = [];
  for (const [which, { plans }] of CASES.entries()) {
    const first = GIB + 1000 * (which + 1);
    rows.push(await row(which, 0, first), await row(which, threads, first + plans));
  }
  printTable(
    [
      'plans',
      'setting',
      'plan ms (median)',
      'health checks',
      'p50 ms',
      'p95 ms',
      'max ms',
      'verdict',
    ],
    rows,
  );
}

if (process.argv[2] === 'client') {
  const which = CASES[Number(process.argv[4])];
  void measure(process.argv[3], which, Number(process.argv[5])).then((measured) => {
    process.send!(measured);
    process.exit(0);
  });
} else {
  void main();
}
