// Micro-batches a pipeline stage keeps in flight (memory-model.md section 4, pipeline schedules).
import { PipelineSchedule } from '../vocabulary';

/** Micro-batches whose activations stage `stage` (0-based) holds at its peak. */
export function microBatchesInFlight(
  schedule: PipelineSchedule,
  stage: number,
  stages: number,
  microBatches: number,
  virtualStages: number,
): number {
  if (stages <= 1) return 1;
  // GPipe runs every forward before any backward: all m micro-batches are alive.
  if (schedule === 'gpipe') return microBatches;
  // 1F1B (Narayanan et al. 2021): stage i holds min(p - i, m) micro-batches.
  const oneFOneB = Math.min(stages - stage, microBatches);
  if (schedule === 'interleaved' && virtualStages > 1) {
    // Interleaved 1F1B raises the first stage's load by (1 + (p - 1) / (p v)) (Korthikanti et al.).
    const factor = 1 + (stages - 1 - stage) / (stages * virtualStages);
    return Math.min(oneFOneB * factor, microBatches);
  }
  return oneFOneB;
}

/** Fraction of a step the pipeline idles: (p - 1) / (m v + p - 1) (Narayanan et al. 2021). */
export function pipelineBubbleFraction(
  stages: number,
  microBatches: number,
  virtualStages: number,
): number {
  if (stages <= 1) return 0;
  return (stages - 1) / (microBatches * virtualStages + stages - 1);
}
