// Plans computed and returned, nothing saved: the controller calls src/application directly.
import { Module } from '@nestjs/common';
import { PlanningController } from './planning.controller';

@Module({ controllers: [PlanningController] })
export class PlanningModule {}
