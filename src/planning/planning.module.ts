// Plans computed and returned, nothing saved: the controller calls src/application directly.
import { Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { closeSharedSimulationThreads } from '../application/simulation-threads';
import { PlanningController } from './planning.controller';

/** The simulation threads stop with the service. */
@Injectable()
export class SimulationThreadsShutdown implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return closeSharedSimulationThreads();
  }
}

@Module({ controllers: [PlanningController], providers: [SimulationThreadsShutdown] })
export class PlanningModule {}
