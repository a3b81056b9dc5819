// Every migration in order; listed as classes so ts-node, Jest and the compiled app load the same.
import { CreatePlans1795380465139 } from './1795380465139-CreatePlans';
import { CreateCustomModels1795380465140 } from './1795380465140-CreateCustomModels';
import { CustomModelRevision1795380465141 } from './1795380465141-CustomModelRevision';
import { PlanFigures1795380465142 } from './1795380465142-PlanFigures';

export const MIGRATIONS = [
  CreatePlans1795380465139,
  CreateCustomModels1795380465140,
  CustomModelRevision1795380465141,
  PlanFigures1795380465142,
];
