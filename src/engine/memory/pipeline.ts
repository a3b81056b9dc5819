// The pipeline's idle time per step (memory-model.md section 4, pipeline schedules); what a
// stage keeps in flight is simulated by the schedule itself (schedule.ts, timeline.ts).
/** Fraction of a step the pipeline idles: (p - 1) / (m v + p - 1) (Narayanan et al. 2021). */
export function pipelineBubbleFraction(
  stages: number,
  microBatches: number,
  virtualStages: number,
): number {
  if (stages <= 1) return 0;
  return (stages - 1) / (microBatches * virtualStages + stages - 1);
}
