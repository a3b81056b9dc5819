// Worker threads that simulate training ranks, so that a plan's ranks (a 405B pipeline has 16),
// a comparison's rows and a search's finalists are simulated side by side, and the thread that
// serves requests stays free meanwhile. A simulation is a pure function of its job, so a thread
// returns exactly what simulating on the serving thread returns; the caller remembers it
// (engine rememberRankSimulation) and plans as before, finding every rank remembered.
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { appConfig } from '../config/app-config';
import { RankSimulation, RankSimulationJob } from '../engine';
import type { SimulationReply, SimulationTask } from './simulation-worker';

// A thread's young generation: a simulation's saved tensors and graph nodes live until their
// backward, so they survive scavenges. On a worker's default one, a Llama-3-70B rank (TP 8,
// ZeRO-3, 80 layers) took 70-100 ms where the serving thread took 45-60; at 64 MiB, 35-45 ms
// (timed on this project's 2-core machine; bench/engine.bench.ts times the threads' rows).
const YOUNG_GENERATION_MB = 64;

interface Pending {
  task: SimulationTask;
  resolve: (simulation: RankSimulation) => void;
  reject: (error: Error) => void;
}

/** One thread and the task it runs, if any. */
interface Thread {
  worker: Worker;
  running?: Pending;
}

/** The worker's script beside this one: compiled JavaScript, or from the TypeScript sources
 * through ts-node (tests and bench scripts). */
function workerScript(): { file: string; execArgv: string[] } {
  const extension = extname(__filename);
  const file = join(__dirname, `simulation-worker${extension}`);
  return {
    file,
    execArgv: extension === '.ts' ? ['--require', 'ts-node/register/transpile-only'] : [],
  };
}

export class SimulationThreads {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('at least one thread');
  }

  /** The job's simulation, once a thread is free to run it. */
  run(job: RankSimulationJob): Promise<RankSimulation> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { id: this.nextId++, job }, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every thread, rejecting what they run and what waits (the callers then simulate
   * on their own thread); a later run starts new ones. */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    const stopped = new Error('the simulation threads were stopped');
    threads.forEach((thread) => thread.running?.reject(stopped));
    this.queue.splice(0).forEach((pending) => pending.reject(stopped));
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /** Hands queued tasks to idle threads, starting threads up to `size`. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const thread =
        this.threads.find((t) => !t.running) ??
        (this.threads.length < this.size ? this.start() : undefined);
      if (!thread) return;
      const pending = this.queue.shift()!;
      thread.running = pending;
      thread.worker.ref(); // a task in flight keeps the process alive (the CLI awaits it)
      thread.worker.postMessage(pending.task);
    }
  }

  private start(): Thread {
    const { file, execArgv } = workerScript();
    const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
    const thread: Thread = { worker: new Worker(file, { execArgv, resourceLimits }) };
    thread.worker.unref(); // an idle thread never keeps the process alive
    thread.worker.on('message', (reply: SimulationReply) => this.finish(thread, reply));
    thread.worker.on('error', (error) => this.fail(thread, error));
    thread.worker.on('exit', (code) => this.fail(thread, new Error(`thread exited (${code})`)));
    this.threads.push(thread);
    return thread;
  }

  private finish(thread: Thread, reply: SimulationReply): void {
    const pending = thread.running;
    thread.running = undefined;
    thread.worker.unref();
    if (pending && pending.task.id === reply.id) {
      if ('error' in reply) pending.reject(new Error(reply.error));
      else pending.resolve(reply.simulation);
    }
    this.dispatch();
  }

  /** A thread that failed or exited is dropped, its task rejected; the queue goes on. */
  private fail(thread: Thread, error: Error): void {
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    this.threads.splice(index, 1);
    thread.running?.reject(error);
    thread.running = undefined;
    this.dispatch();
  }
}

let shared: SimulationThreads | null | undefined;

/** The process's simulation threads, as SHARDPLAN_SIMULATION_THREADS sets them (none at 0). */
export function sharedSimulationThreads(): SimulationThreads | undefined {
  if (shared === undefined) {
    const size = appConfig().simulationThreads;
    shared = size > 0 ? new SimulationThreads(size) : null;
  }
  return shared ?? undefined;
}

/** Stops the shared threads (the service's shutdown); the next use reads the setting again. */
export async function closeSharedSimulationThreads(): Promise<void> {
  const threads = shared;
  shared = undefined;
  await threads?.close();
}
