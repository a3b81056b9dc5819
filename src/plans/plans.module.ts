import { Module } from '@nestjs/common';
import { PLANS_REPOSITORY } from './plans.repository';
import { PlansController } from './plans.controller';
import { PlansService } from './plans.service';
import { TypeOrmPlansRepository } from './typeorm-plans.repository';

@Module({
  controllers: [PlansController],
  providers: [PlansService, { provide: PLANS_REPOSITORY, useClass: TypeOrmPlansRepository }],
  exports: [PlansService, PLANS_REPOSITORY],
})
export class PlansModule {}
