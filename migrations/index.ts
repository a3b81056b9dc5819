// Every migration in order; listed as classes so ts-node, Jest and the compiled app load the same.
import { CreatePlans1795380465139 } from './1795380465139-CreatePlans';
import { CreateCustomModels1795380465140 } from './1795380465140-CreateCustomModels';

export const MIGRATIONS = [CreatePlans1795380465139, CreateCustomModels1795380465140];
