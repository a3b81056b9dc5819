// A simulation thread: runs the rank simulations the serving thread sends (simulation-threads.ts)
// and sends each back, or the error it raised.
import { parentPort } from 'node:worker_threads';
import { RankSimulationJob, runRankSimulationJob } from '../engine';

export interface SimulationTask {
  id: number;
  job: RankSimulationJob;
}

export type SimulationReply =
  | { id: number; simulation: ReturnType<typeof runRankSimulationJob> }
  | { id: number; error: string };

function reply(task: SimulationTask): SimulationReply {
  try {
    return { id: task.id, simulation: runRankSimulationJob(task.job) };
  } catch (error) {
    return { id: task.id, error: error instanceof Error ? error.message : String(error) };
  }
}

parentPort?.on('message', (task: SimulationTask) => parentPort!.postMessage(reply(task)));
